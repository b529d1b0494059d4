//! The fixed texts of a prompt (instructions and the "Sources:" and
//! "Question:" labels) and of a declined answer in the answer's language, so that a question in
//! French or Japanese is never met with English boilerplate only (measured
//! with SmolLM2, README "Answers").

use crate::analysis::Language;

/// One language's prompt texts.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Instructions {
    /// The system prompt used when the caller gives none.
    pub system: &'static str,
    /// Heads the numbered sources.
    pub sources: &'static str,
    /// Stands for the sources when there are none.
    pub no_sources: &'static str,
    /// Stands for the sources when a follow-up has the same ones as the
    /// turn before, whose sources the prompt already holds.
    pub same_sources: &'static str,
    /// Stands for the text of one source the turn before already gave
    /// under the same number.
    pub as_above: &'static str,
    /// Heads the question.
    pub question: &'static str,
    /// The whole answer when the documents do not hold one.
    pub not_in_documents: &'static str,
    /// Heads the documents named after a declined answer.
    pub closest: &'static str,
}

/// Used when the question's language has no translation or is unclear.
pub(crate) const ENGLISH: Instructions = Instructions {
    system: "Answer the question using only the numbered sources you are given. After each \
             claim, cite its source as [n], for example [1] or [2][3]. If the sources do not \
             contain the answer, say that you don't know. Keep the answer short.",
    sources: "Sources:",
    no_sources: "Sources: none.",
    same_sources: "Sources: the same as above.",
    as_above: "(the same as above)",
    question: "Question:",
    not_in_documents: "Not in your documents: none of them answers this.",
    closest: "Closest documents:",
};

/// Translations by ISO 639-3 code: the languages with the most speakers
/// among those the bundled answer model's training mix covers best.
const TRANSLATIONS: [(&str, Instructions); 10] = [
    (
        "fra",
        Instructions {
            system: "Réponds à la question en utilisant uniquement les sources numérotées \
                     fournies. Après chaque affirmation, cite sa source sous la forme [n], par \
                     exemple [1] ou [2][3]. Si les sources ne contiennent pas la réponse, dis que \
                     tu ne sais pas. Réponds brièvement, en français.",
            sources: "Sources :",
            no_sources: "Sources : aucune.",
            same_sources: "Sources : les mêmes que ci-dessus.",
            as_above: "(le même que ci-dessus)",
            question: "Question :",
            not_in_documents: "Pas dans vos documents : aucun n'y répond.",
            closest: "Documents les plus proches :",
        },
    ),
    (
        "deu",
        Instructions {
            system: "Beantworte die Frage nur mit Hilfe der nummerierten Quellen, die du \
                     erhältst. Nenne nach jeder Aussage ihre Quelle als [n], zum Beispiel [1] \
                     oder [2][3]. Wenn die Quellen die Antwort nicht enthalten, sage, dass du es \
                     nicht weißt. Antworte kurz und auf Deutsch.",
            sources: "Quellen:",
            no_sources: "Quellen: keine.",
            same_sources: "Quellen: dieselben wie oben.",
            as_above: "(wie oben)",
            question: "Frage:",
            not_in_documents: "Nicht in Ihren Dokumenten: keines beantwortet das.",
            closest: "Nächstliegende Dokumente:",
        },
    ),
    (
        "spa",
        Instructions {
            system: "Responde a la pregunta usando solo las fuentes numeradas que se te dan. \
                     Después de cada afirmación, cita su fuente como [n], por ejemplo [1] o \
                     [2][3]. Si las fuentes no contienen la respuesta, di que no lo sabes. \
                     Responde brevemente y en español.",
            sources: "Fuentes:",
            no_sources: "Fuentes: ninguna.",
            same_sources: "Fuentes: las mismas de arriba.",
            as_above: "(igual que arriba)",
            question: "Pregunta:",
            not_in_documents: "No está en sus documentos: ninguno responde a esto.",
            closest: "Documentos más cercanos:",
        },
    ),
    (
        "ita",
        Instructions {
            system: "Rispondi alla domanda usando solo le fonti numerate che ti vengono date. \
                     Dopo ogni affermazione, cita la sua fonte come [n], per esempio [1] o \
                     [2][3]. Se le fonti non contengono la risposta, di' che non lo sai. \
                     Rispondi in breve e in italiano.",
            sources: "Fonti:",
            no_sources: "Fonti: nessuna.",
            same_sources: "Fonti: le stesse di sopra.",
            as_above: "(come sopra)",
            question: "Domanda:",
            not_in_documents: "Non è nei tuoi documenti: nessuno risponde a questo.",
            closest: "Documenti più vicini:",
        },
    ),
    (
        "por",
        Instructions {
            system: "Responda à pergunta usando apenas as fontes numeradas fornecidas. Depois \
                     de cada afirmação, cite a fonte como [n], por exemplo [1] ou [2][3]. Se as \
                     fontes não contiverem a resposta, diga que não sabe. Responda de forma \
                     breve e em português.",
            sources: "Fontes:",
            no_sources: "Fontes: nenhuma.",
            same_sources: "Fontes: as mesmas de cima.",
            as_above: "(igual ao de cima)",
            question: "Pergunta:",
            not_in_documents: "Não está nos seus documentos: nenhum responde a isto.",
            closest: "Documentos mais próximos:",
        },
    ),
    (
        "nld",
        Instructions {
            system: "Beantwoord de vraag alleen met de genummerde bronnen die je krijgt. \
                     Vermeld na elke bewering de bron als [n], bijvoorbeeld [1] of [2][3]. Als \
                     de bronnen het antwoord niet bevatten, zeg dan dat je het niet weet. \
                     Antwoord kort en in het Nederlands.",
            sources: "Bronnen:",
            no_sources: "Bronnen: geen.",
            same_sources: "Bronnen: dezelfde als hierboven.",
            as_above: "(zelfde als hierboven)",
            question: "Vraag:",
            not_in_documents: "Niet in je documenten: geen ervan beantwoordt dit.",
            closest: "Dichtstbijzijnde documenten:",
        },
    ),
    (
        "rus",
        Instructions {
            system: "Ответь на вопрос, используя только пронумерованные источники. После \
                     каждого утверждения укажи его источник как [n], например [1] или [2][3]. \
                     Если в источниках нет ответа, скажи, что не знаешь. Отвечай кратко и \
                     по-русски.",
            sources: "Источники:",
            no_sources: "Источники: нет.",
            same_sources: "Источники: те же, что выше.",
            as_above: "(как выше)",
            question: "Вопрос:",
            not_in_documents: "В ваших документах этого нет: ни один не отвечает на вопрос.",
            closest: "Ближайшие документы:",
        },
    ),
    (
        "jpn",
        Instructions {
            system: "与えられた番号付きの資料だけを使って質問に答えてください。各内容の後に、\
                     その資料を [n] の形で示してください（例: [1] や [2][3]）。資料に答えが\
                     ない場合は、わからないと答えてください。日本語で簡潔に答えてください。",
            sources: "資料:",
            no_sources: "資料: なし。",
            same_sources: "資料: 上と同じ。",
            as_above: "（上と同じ）",
            question: "質問:",
            not_in_documents: "あなたの文書にはこの答えがありません。",
            closest: "最も近い文書:",
        },
    ),
    (
        "cmn",
        Instructions {
            system: "只根据给出的编号资料回答问题。每个陈述后用 [n] 标注其来源，例如 [1] 或 \
                     [2][3]。如果资料中没有答案，请说你不知道。请用中文简短回答。",
            sources: "资料：",
            no_sources: "资料：无。",
            same_sources: "资料：同上。",
            as_above: "（同上）",
            question: "问题：",
            not_in_documents: "您的文档中没有这个答案。",
            closest: "最接近的文档：",
        },
    ),
    (
        "kor",
        Instructions {
            system: "주어진 번호가 매겨진 자료만 사용하여 질문에 답하세요. 각 내용 뒤에 출처를 \
                     [n] 형식으로 표시하세요(예: [1] 또는 [2][3]). 자료에 답이 없으면 모른다고 \
                     말하세요. 한국어로 짧게 답하세요.",
            sources: "자료:",
            no_sources: "자료: 없음.",
            same_sources: "자료: 위와 같음.",
            as_above: "(위와 같음)",
            question: "질문:",
            not_in_documents: "문서에 이 질문의 답이 없습니다.",
            closest: "가장 가까운 문서:",
        },
    ),
];

/// The texts for answers in `language`: its translation, English when
/// there is none (or no language).
pub(crate) fn for_language(language: Option<Language>) -> &'static Instructions {
    language
        .and_then(|language| {
            TRANSLATIONS
                .iter()
                .find(|(code, _)| *code == language.code())
        })
        .map_or(&ENGLISH, |(_, instructions)| instructions)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_the_language_and_falls_back_to_english() {
        let language = |code| Language::from_code(code);
        let french = for_language(language("fra"));
        assert_eq!(french.question, "Question :");
        assert!(french.system.contains("en français"));
        assert_eq!(for_language(language("jpn")).question, "質問:");
        assert_eq!(for_language(language("deu")).question, "Frage:");
        assert_eq!(for_language(Some(Language::ENGLISH)), &ENGLISH);
        assert_eq!(for_language(None), &ENGLISH);
        // A language without a translation.
        assert_eq!(for_language(language("dan")), &ENGLISH);
    }

    #[test]
    fn every_translation_is_of_a_known_language_and_cites_as_n() {
        for (code, instructions) in &TRANSLATIONS {
            assert!(Language::from_code(code).is_some(), "{code}");
            assert!(instructions.system.contains("[n]"), "{code}");
            assert!(instructions.system.contains("[2][3]"), "{code}");
        }
    }
}
