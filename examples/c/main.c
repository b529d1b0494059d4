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

/* Progress callback: runs on the indexing thread; nonzero = go on. */
static int32_t on_progress(const trove_progress *p, void *user_data) {
    (void)user_data;
    fprintf(stderr, "\rindexing: %llu/%llu files, %llu chunks embedded",
            (unsigned long long)p->files_done, (unsigned long long)p->files_total,
            (unsigned long long)p->chunks_embedded);
    return 1;
}

/* Token callback: prints each piece as it comes; nonzero = go on. */
static int32_t on_token(const char *piece, size_t piece_len, void *user_data) {
    (void)user_data;
    fwrite(piece, 1, piece_len, stdout);
    fflush(stdout);
    return 1;
}

/* Prints where a passage comes from: path and lines, page, or host id. */
static void print_location(const trove_hit *hit) {
    uint32_t first = 0, last = 0, page = trove_hit_page(hit);
    const char *path = trove_hit_path(hit, NULL); /* lent */
    printf("%s", path ? path : trove_hit_document_id(hit, NULL));
    if (trove_hit_lines(hit, &first, &last)) printf(":%u-%u", first, last);
    if (page) printf(" page %u", page);
}

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: %s STORE_DIR MODELS_DIR FOLDER QUESTION\n", argv[0]);
        return 2;
    }
    const char *store = argv[1], *models = argv[2], *folder = argv[3], *question = argv[4];
    if (trove_version_number() / 1000 != TROVE_VERSION_NUMBER / 1000) {
        fprintf(stderr, "libtrove %s does not match trove.h %d.%d\n", trove_version(),
                TROVE_VERSION_MAJOR, TROVE_VERSION_MINOR);
        return 1;
    }
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
    check(trove_search(engine, question, TROVE_NUL_TERMINATED, &search, &results), "search");
    printf("\nTop passages for \"%s\":\n", question);
    for (size_t i = 0; i < trove_results_count(results); i++) {
        const trove_hit *hit = trove_results_hit(results, i); /* lent */
        printf("  %.3f  ", trove_hit_score(hit));
        print_location(hit);
        printf("  %s\n", trove_hit_title(hit, NULL));
    }
    trove_results_free(results);

    printf("\nAnswer: ");
    trove_answer *answer = NULL;
    /* The default answer quotes the notes (no model runs); a question they
     * do not answer is declined, naming the closest notes. */
    check(trove_ask(engine, question, TROVE_NUL_TERMINATED, NULL, on_token, NULL, &answer), "ask");
    if (trove_answer_declined(answer)) {
        printf("\n(declined: grounding %.2f)\n", trove_answer_grounding(answer));
        trove_answer_free(answer);
        trove_engine_close(engine);
        return 0;
    }
    printf("\n\nSources:\n");
    for (size_t i = 0; i < trove_answer_citation_count(answer); i++) {
        printf("  [%u]%s ", trove_answer_citation_n(answer, i),
               trove_answer_citation_inferred(answer, i) ? "~" : "");
        print_location(trove_answer_citation_hit(answer, i));
        printf("\n");
    }
    printf("(grounding %.2f, first text after %.0f ms)\n", trove_answer_grounding(answer),
           trove_answer_timing(answer, TROVE_TIMING_TTFT_MS));
    trove_answer_free(answer);
    trove_engine_close(engine);
    return 0;
}
