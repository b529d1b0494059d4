/*
 * A C host of libtrove: index a folder, search it, then ask a question and
 * stream the answer with its sources.
 *
 *   cc main.c $(pkg-config --cflags --libs trove-static) -o trove-c-demo
 *   ./trove-c-demo STORE_DIR MODELS_DIR FOLDER "QUESTION"
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <trove.h>

/* Prints a failed call's status and message, and exits. */
static void check(trove_status status, const char *what) {
    if (status != TROVE_STATUS_OK) {
        fprintf(stderr, "%s failed: %s: %s\n", what, trove_status_name(status),
                trove_last_error());
        exit(1);
    }
}

/* Progress callback: runs on the indexing thread; true = go on. */
static bool on_progress(const trove_progress *p, void *user_data) {
    (void)user_data;
    fprintf(stderr, "\rindexing: %llu/%llu files, %llu chunks embedded",
            (unsigned long long)p->files_done, (unsigned long long)p->files_total,
            (unsigned long long)p->chunks_embedded);
    return true;
}

/* Token callback: prints each piece as it comes; true = go on. */
static bool on_token(const char *piece, void *user_data) {
    (void)user_data;
    fputs(piece, stdout);
    fflush(stdout);
    return true;
}

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: %s STORE_DIR MODELS_DIR FOLDER QUESTION\n", argv[0]);
        return 2;
    }
    const char *store = argv[1], *models = argv[2], *folder = argv[3], *question = argv[4];
    printf("libtrove %s\n", trove_version());

    trove_engine_options options;
    memset(&options, 0, sizeof options); /* zero = defaults */
    options.struct_size = sizeof options;
    options.threads = 2;
    trove_engine *engine = NULL;
    check(trove_engine_open(store, models, &options, &engine), "open");

    char *summary = NULL;
    check(trove_index_path(engine, folder, NULL, on_progress, NULL, &summary), "index");
    fprintf(stderr, "\n%s\n", summary);
    trove_string_free(summary); /* caller-owned */

    trove_search_options search;
    memset(&search, 0, sizeof search);
    search.struct_size = sizeof search;
    search.k = 3;
    trove_results *results = NULL;
    check(trove_search(engine, question, &search, &results), "search");
    printf("\nTop passages for \"%s\":\n", question);
    for (size_t i = 0; i < trove_results_count(results); i++) {
        uint32_t first = 0, last = 0;
        const char *path = trove_results_path(results, i); /* lent */
        printf("  %.3f  %s", trove_results_score(results, i), path ? path : "(host text)");
        if (trove_results_lines(results, i, &first, &last)) printf(":%u-%u", first, last);
        printf("  %s\n", trove_results_title(results, i));
    }
    trove_results_free(results);

    printf("\nAnswer: ");
    trove_answer *answer = NULL;
    check(trove_ask(engine, question, NULL, on_token, NULL, &answer), "ask");
    printf("\n\nSources:\n");
    for (size_t i = 0; i < trove_answer_citation_count(answer); i++) {
        uint32_t first = 0, last = 0, page = trove_answer_citation_page(answer, i);
        const char *path = trove_answer_citation_path(answer, i);
        printf("  [%u]%s %s", trove_answer_citation_n(answer, i),
               trove_answer_citation_inferred(answer, i) ? "~" : "",
               path ? path : trove_answer_citation_document_id(answer, i));
        if (trove_answer_citation_lines(answer, i, &first, &last)) printf(":%u-%u", first, last);
        if (page) printf(" page %u", page);
        printf("\n");
    }
    printf("(%.0f tokens at %.1f tokens/s, first text after %.0f ms)\n",
           trove_answer_timing(answer, TROVE_TIMING_DECODE_TOKENS),
           trove_answer_timing(answer, TROVE_TIMING_DECODE_TOK_S),
           trove_answer_timing(answer, TROVE_TIMING_TTFT_MS));
    trove_answer_free(answer);
    trove_engine_close(engine);
    return 0;
}
