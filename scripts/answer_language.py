"""Which language SmolLM2 answers in: French and Japanese questions over the
translated man pages (../shared/eval), asked with `trove ask`.

Usage: scripts/answer_language.py TROVE_BINARY N OUT.json FR_STORE JA_STORE
(stores indexed with --embedding e5 from manpages-fr and manpages-ja, e.g. by
`trove-dev --embedding e5 --store DIR eval ../shared/eval/manpages-fr`).
The answer's language is judged by script share (Japanese) and stop words
(French against English); a rough judge, good enough to count.
"""
import json, os, random, re, subprocess, sys
binary = sys.argv[1]; n = int(sys.argv[2]); out = sys.argv[3]
stores = {'fr': sys.argv[4], 'ja': sys.argv[5]}
E = os.path.join(os.path.dirname(os.path.abspath(__file__)), '../../shared/eval/')
FR_STOP = set('le la les de des du un une est et pour dans sur par avec qui que en au aux ce cette son ses vous il elle peut utilisez permet commande'.split())
EN_STOP = set('the a an of is and to for in on with by that this you it can use command which'.split())
def lang(text):
    t = re.sub(r'\[\d+\]', '', text)
    cjk = sum(1 for c in t if '\u3040' <= c <= '\u30ff' or '\u4e00' <= c <= '\u9fff')
    letters = sum(1 for c in t if c.isalpha())
    if letters and cjk / letters > 0.3: return 'ja'
    words = re.findall(r"[a-zA-Zàâçéèêëîïôûùüÿœ']+", t.lower())
    fr = sum(w in FR_STOP for w in words); en = sum(w in EN_STOP for w in words)
    if fr == en == 0: return 'unknown'
    return 'fr' if fr > en else 'en'
sets = [('fr', 'manpages-fr', lambda q: f"Quelle commande permet de {q[0].lower()+q[1:]} ?"),
        ('ja', 'manpages-ja', lambda q: f"{q}にはどのコマンドを使いますか？")]
res = {}
rows = []
for code, d, make in sets:
    qs = [l.rstrip('\n').split('\t') for l in open(E+d+'/queries.tsv')][1:]
    random.Random(7).shuffle(qs)
    counts = {}
    for qid, q, gold in qs[:n]:
        question = make(q.rstrip('.'))
        p = subprocess.run([binary, '--json', '--embedding', 'e5', '--store', stores[code], 'ask', '-k', '3', '--max-tokens', '96', question], capture_output=True, text=True)
        ans = ''
        for line in p.stdout.splitlines():
            try:
                o = json.loads(line)
            except Exception: continue
            if isinstance(o, dict) and 'answer' in o: ans = o['answer']
        l = lang(ans); counts[l] = counts.get(l, 0) + 1
        rows.append({'set': code, 'question': question, 'answer': ans, 'lang': l})
    res[code] = counts
    print(code, counts, flush=True)
json.dump({'summary': res, 'rows': rows}, open(out, 'w'), ensure_ascii=False, indent=1)
