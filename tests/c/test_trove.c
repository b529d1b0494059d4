/*
 * C tests of libtrove over every function of include/trove.h, with the real
 * models: success paths, error paths (NULL arguments, invalid UTF-8, missing
 * and wrong model files, a store of another embedding model), cancellation
 * during indexing and generation from another thread, callbacks that return
 * 0, text passed as buffers with lengths, and several threads using one
 * engine.
 *
 *   TROVE_MODELS=models ./test_trove      (make c-test builds and runs it)
 *
 * Prints "N passed, N failed" and exits non-zero when anything failed.
 */
#define _GNU_SOURCE
#include "trove.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int passed, failed;

#define CHECK(cond, ...)                                                     \
    do {                                                                     \
        if (cond) {                                                          \
            passed++;                                                        \
        } else {                                                             \
            failed++;                                                        \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);  \
            fprintf(stderr, __VA_ARGS__);                                    \
            fprintf(stderr, " [last error: %s]\n", trove_last_error());      \
        }                                                                    \
    } while (0)

#define CHECK_STATUS(call, want)                                             \
    do {                                                                     \
        trove_status got_ = (call);                                          \
        CHECK(got_ == (want), "%s returned %s, wanted %s", #call,            \
              trove_status_name(got_), trove_status_name(want));             \
    } while (0)

static const char *models;
static char root[256];    /* temporary directory of this run */
static char notes[300];   /* a folder of notes */
static uint32_t threads;

/* ---------- helpers ---------- */

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        exit(2);
    }
    fputs(text, f);
    fclose(f);
}

static char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        exit(2);
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 2);
    if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
        perror(path);
        exit(2);
    }
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static void remove_tree(const char *path) {
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", path);
}

static trove_engine_options engine_options(void) {
    trove_engine_options o;
    memset(&o, 0, sizeof o);
    o.struct_size = sizeof o;
    o.threads = threads;
    return o;
}

static trove_engine *open_engine(const char *store, const char *models_dir) {
    trove_engine_options o = engine_options();
    trove_engine *engine = NULL;
    trove_status s = trove_engine_open(store, models_dir, &o, &engine);
    if (s != TROVE_STATUS_OK) {
        fprintf(stderr, "cannot open %s: %s: %s\n", store, trove_status_name(s),
                trove_last_error());
        exit(2);
    }
    return engine;
}

static const char *NOTES[][2] = {
    {"espresso.md",
     "# Espresso\n\n## Recipe\n\n- **Dose:** 18 g of ground coffee.\n"
     "- **Brew temperature:** 93 °C on the PID.\n"
     "- **Time:** 27 to 30 seconds.\n"},
    {"bicycle.md",
     "# Bicycle care\n\nPump road tyres to 6 bar every week. Oil the chain "
     "every 300 kilometres and after rides in the rain.\n"},
    {"sourdough.txt",
     "Sourdough starter\n\nFeed the starter twice a day with equal weights of "
     "rye flour and water. It is ready when it doubles within six hours.\n"},
};
#define NOTE_COUNT (sizeof NOTES / sizeof NOTES[0])

/* ---------- tests ---------- */

static void test_version_and_status_names(void) {
    const char *v = trove_version();
    CHECK(v && strlen(v) >= 5 && strchr(v, '.'), "version %s", v ? v : "NULL");
    char expected[32];
    snprintf(expected, sizeof expected, "%d.%d.%d", TROVE_VERSION_MAJOR, TROVE_VERSION_MINOR,
             TROVE_VERSION_PATCH);
    CHECK(strcmp(v, expected) == 0, "library %s, header %s", v, expected);
    CHECK(trove_version_number() == TROVE_VERSION_NUMBER, "version number %u vs %u",
          trove_version_number(), (unsigned)TROVE_VERSION_NUMBER);
    CHECK(strcmp(trove_status_name(TROVE_STATUS_OK), "TROVE_STATUS_OK") == 0, "ok name");
    CHECK(strcmp(trove_status_name(TROVE_STATUS_INCOMPATIBLE_STORE),
                 "TROVE_STATUS_INCOMPATIBLE_STORE") == 0, "name");
    /* Any integer is safe to ask about. */
    CHECK(strcmp(trove_status_name(10), "TROVE_STATUS_UNKNOWN") == 0, "unknown");
    CHECK(strcmp(trove_status_name(-1), "TROVE_STATUS_UNKNOWN") == 0, "negative");
    CHECK(strcmp(trove_status_name(INT32_MAX), "TROVE_STATUS_UNKNOWN") == 0, "huge");
    CHECK(trove_last_error() != NULL, "last error never NULL");
}

static void test_frees_accept_null(void) {
    trove_engine_close(NULL);
    trove_results_free(NULL);
    trove_answer_free(NULL);
    trove_string_free(NULL);
    trove_cancel_token_free(NULL);
    trove_cancel_token_cancel(NULL);
    trove_cancel_token_reset(NULL);
    CHECK(trove_results_count(NULL) == 0, "count of NULL");
    CHECK(trove_results_hit(NULL, 0) == NULL, "hit of NULL");
    CHECK(trove_results_json(NULL, NULL) == NULL, "json of NULL");
    size_t len = 99;
    CHECK(trove_hit_text(NULL, &len) == NULL && len == 0, "text of a NULL hit");
    CHECK(trove_hit_path(NULL, NULL) == NULL, "path of a NULL hit");
    CHECK(trove_hit_heading_count(NULL) == 0 && trove_hit_tag_count(NULL) == 0, "counts");
    CHECK(trove_hit_heading(NULL, 0, NULL) == NULL && trove_hit_tag(NULL, 0, NULL) == NULL,
          "items");
    CHECK(trove_hit_score(NULL) == 0.0f && trove_hit_page(NULL) == 0 &&
              trove_hit_chunk_id(NULL) == 0, "numbers");
    CHECK(!trove_hit_lines(NULL, NULL, NULL), "lines");
    CHECK(trove_answer_text(NULL, NULL) == NULL, "answer text of NULL");
    CHECK(trove_answer_citation_count(NULL) == 0, "citations of NULL");
    CHECK(trove_answer_citation_hit(NULL, 0) == NULL, "citation hit of NULL");
    CHECK(trove_answer_passage_count(NULL) == 0 && trove_answer_passage(NULL, 0) == NULL,
          "passages of NULL");
    CHECK(trove_answer_timing(NULL, TROVE_TIMING_TOTAL_MS) == 0.0, "timing of NULL");
}

static void test_open_errors(void) {
    char store[300];
    snprintf(store, sizeof store, "%s/err-store", root);
    trove_engine *engine = (trove_engine *)&engine; /* must be reset to NULL */
    CHECK_STATUS(trove_engine_open(NULL, models, NULL, &engine), TROVE_STATUS_INVALID_ARGUMENT);
    CHECK(engine == NULL, "out-pointer reset on failure");
    CHECK(strstr(trove_last_error(), "store_dir") != NULL, "message names the argument: %s",
          trove_last_error());
    CHECK_STATUS(trove_engine_open(store, models, NULL, NULL), TROVE_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(trove_engine_open(store, "", NULL, &engine), TROVE_STATUS_INVALID_ARGUMENT);

    /* Invalid UTF-8 is an error, not a crash. */
    CHECK_STATUS(trove_engine_open("/tmp/caf\xe9", models, NULL, &engine),
                 TROVE_STATUS_INVALID_ARGUMENT);
    CHECK(strstr(trove_last_error(), "UTF-8") != NULL, "%s", trove_last_error());

    /* Options without struct_size are refused. */
    trove_engine_options o;
    memset(&o, 0, sizeof o);
    CHECK_STATUS(trove_engine_open(store, models, &o, &engine), TROVE_STATUS_INVALID_ARGUMENT);
    CHECK(strstr(trove_last_error(), "struct_size") != NULL, "%s", trove_last_error());

    /* A models folder without the models. */
    char empty[300];
    snprintf(empty, sizeof empty, "%s/no-models", root);
    mkdir(empty, 0700);
    trove_status s = trove_engine_open(store, empty, NULL, &engine);
    CHECK(s == TROVE_STATUS_NOT_FOUND || s == TROVE_STATUS_MODEL, "missing models gave %s",
          trove_status_name(s));
    CHECK(engine == NULL, "no engine");
    CHECK(strlen(trove_last_error()) > 10, "a message: %s", trove_last_error());
}

static int32_t count_progress(const trove_progress *p, void *user_data) {
    int *calls = user_data;
    (*calls)++;
    return p->files_done <= p->files_total;
}

static int32_t stop_at_once(const trove_progress *p, void *user_data) {
    (void)p;
    (void)user_data;
    return 0;
}

/* Any nonzero return goes on, not only 1. */
static int32_t go_on_with_two(const trove_progress *p, void *user_data) {
    (void)p;
    (void)user_data;
    return 2;
}

/* trove_add_text with NUL-terminated fields (any may be NULL). */
static trove_status add_note(trove_engine *engine, const char *id, const char *title,
                             const char *text, const char *metadata_json) {
    trove_note note;
    memset(&note, 0, sizeof note);
    note.struct_size = sizeof note;
    note.id = id;
    note.id_len = TROVE_NUL_TERMINATED;
    note.title = title;
    note.title_len = TROVE_NUL_TERMINATED;
    note.text = text;
    note.text_len = TROVE_NUL_TERMINATED;
    note.metadata_json = metadata_json;
    note.metadata_json_len = TROVE_NUL_TERMINATED;
    return trove_add_text(engine, &note, NULL);
}

/* Shorthands for hit i of a results handle. */
static const char *hit_path(const trove_results *r, size_t i) {
    return trove_hit_path(trove_results_hit(r, i), NULL);
}
static const char *hit_document_id(const trove_results *r, size_t i) {
    return trove_hit_document_id(trove_results_hit(r, i), NULL);
}

static void test_index_search_remove(trove_engine *engine) {
    int calls = 0;
    char *summary = NULL;
    CHECK_STATUS(trove_index_path(engine, notes, NULL, count_progress, &calls, &summary),
                 TROVE_STATUS_OK);
    CHECK(calls >= (int)NOTE_COUNT, "progress called %d times", calls);
    CHECK(summary && strstr(summary, "\"stages\":{"), "summary carries its stages: %s", summary);
    CHECK(summary && strstr(summary, "\"files_indexed\":3"), "summary %s", summary);
    trove_string_free(summary);

    /* Unchanged files cost nothing the second time; NULL out-pointer is fine. */
    CHECK_STATUS(trove_index_path(engine, notes, NULL, NULL, NULL, &summary), TROVE_STATUS_OK);
    CHECK(summary && strstr(summary, "\"files_unchanged\":3") &&
              strstr(summary, "\"chunks_embedded\":0"), "second run %s", summary);
    trove_string_free(summary);
    CHECK_STATUS(trove_index_path(engine, notes, NULL, go_on_with_two, NULL, NULL),
                 TROVE_STATUS_OK);

    /* A callback returning 0 stops the run. */
    char extra[400];
    snprintf(extra, sizeof extra, "%s/kettle.md", notes);
    write_file(extra, "# Kettle\n\nDescale the kettle monthly with citric acid.\n");
    CHECK_STATUS(trove_index_path(engine, notes, NULL, stop_at_once, NULL, &summary),
                 TROVE_STATUS_CANCELLED);
    CHECK(summary == NULL, "no summary when cancelled");

    /* Errors: NULL engine, NULL and missing path, invalid UTF-8. */
    CHECK_STATUS(trove_index_path(NULL, notes, NULL, NULL, NULL, NULL),
                 TROVE_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(trove_index_path(engine, NULL, NULL, NULL, NULL, NULL),
                 TROVE_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(trove_index_path(engine, "/no/such/folder", NULL, NULL, NULL, NULL),
                 TROVE_STATUS_NOT_FOUND);
    CHECK_STATUS(trove_index_path(engine, "/tmp/\xff\xfe", NULL, NULL, NULL, NULL),
                 TROVE_STATUS_INVALID_ARGUMENT);

    /* Search with accessors. */
    trove_results *results = NULL;
    CHECK_STATUS(trove_search(engine, "how hot should the water be for espresso?", TROVE_NUL_TERMINATED, NULL, &results),
                 TROVE_STATUS_OK);
    size_t n = trove_results_count(results);
    CHECK(n >= 3, "%zu hits", n);
    const trove_hit *best = trove_results_hit(results, 0);
    size_t path_len = 0;
    const char *path = trove_hit_path(best, &path_len);
    CHECK(path && strstr(path, "espresso.md"), "best hit %s", path ? path : "NULL");
    CHECK(path && path_len == strlen(path), "length %zu", path_len);
    CHECK(strstr(trove_hit_text(best, NULL), "93 °C") != NULL, "text");
    size_t title_len = 0;
    CHECK(strcmp(trove_hit_title(best, &title_len), "Espresso") == 0 && title_len == 8,
          "title %s", trove_hit_title(best, NULL));
    CHECK(strcmp(trove_hit_document_id(best, NULL), path) == 0, "file id is its path");
    CHECK(trove_hit_page(best) == 0, "no page for Markdown");
    CHECK(trove_hit_chunk_id(best) > 0, "a chunk id");
    CHECK(trove_hit_heading_count(best) == 2 &&
              strcmp(trove_hit_heading(best, 0, NULL), "Espresso") == 0 &&
              strcmp(trove_hit_heading(best, 1, NULL), "Recipe") == 0,
          "headings %zu", trove_hit_heading_count(best));
    CHECK(trove_hit_heading(best, 2, NULL) == NULL, "heading out of range");
    CHECK(trove_hit_tag_count(best) == 0 && trove_hit_tag(best, 0, NULL) == NULL, "no tags");
    uint32_t first = 0, last = 0;
    CHECK(trove_hit_lines(best, &first, &last) && first >= 1 && last >= first,
          "lines %u-%u", first, last);
    for (size_t i = 1; i < n; i++)
        CHECK(trove_hit_score(trove_results_hit(results, i - 1)) >=
                  trove_hit_score(trove_results_hit(results, i)),
              "ranked by score");
    CHECK(trove_results_hit(results, n) == NULL, "out of range is NULL");
    size_t json_len = 0;
    const char *json = trove_results_json(results, &json_len);
    CHECK(json && json[0] == '[' && strstr(json, "espresso.md") && json_len == strlen(json),
          "json %s", json);
    CHECK(json && strstr(json, "\"chunk_id\":") && strstr(json, "\"heading_path\":"),
          "hits carry the shared JSON shape: %s", json);
    trove_results_free(results);

    /* A query given as a buffer and its length: no NUL needed, the rest of
     * the buffer is not read. */
    const char buffer[] = {'c', 'h', 'a', 'i', 'n', 'X', 'Y', 'Z'};
    trove_search_options kw;
    memset(&kw, 0, sizeof kw);
    kw.struct_size = sizeof kw;
    kw.mode = TROVE_SEARCH_MODE_KEYWORD;
    CHECK_STATUS(trove_search(engine, buffer, 5, &kw, &results), TROVE_STATUS_OK);
    CHECK(trove_results_count(results) >= 1 && strstr(hit_path(results, 0), "bicycle.md"),
          "a 5-byte query found the chain note");
    trove_results_free(results);
    /* A length that cuts a character in two is invalid UTF-8. */
    CHECK_STATUS(trove_search(engine, "°C", 1, &kw, &results), TROVE_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(trove_search(engine, NULL, 4, &kw, &results), TROVE_STATUS_INVALID_ARGUMENT);

    /* Options: keyword mode, k, path filter; bad options refused. */
    trove_search_options so;
    memset(&so, 0, sizeof so);
    so.struct_size = sizeof so;
    so.k = 1;
    so.mode = TROVE_SEARCH_MODE_KEYWORD;
    CHECK_STATUS(trove_search(engine, "chain", TROVE_NUL_TERMINATED, &so, &results), TROVE_STATUS_OK);
    CHECK(trove_results_count(results) == 1 && strstr(hit_path(results, 0), "bicycle.md"),
          "keyword hit");
    trove_results_free(results);
    char prefix[400];
    snprintf(prefix, sizeof prefix, "%s/sour", notes);
    so.mode = TROVE_SEARCH_MODE_HYBRID;
    so.k = 5;
    so.path_prefix = prefix;
    CHECK_STATUS(trove_search(engine, "espresso", TROVE_NUL_TERMINATED, &so, &results), TROVE_STATUS_OK);
    CHECK(trove_results_count(results) >= 1, "filtered");
    for (size_t i = 0; i < trove_results_count(results); i++)
        CHECK(strstr(hit_path(results, i), "sourdough.txt"), "path filter holds");
    trove_results_free(results);
    so.path_prefix = NULL;
    so.mode = 7;
    CHECK_STATUS(trove_search(engine, "espresso", TROVE_NUL_TERMINATED, &so, &results), TROVE_STATUS_INVALID_ARGUMENT);
    CHECK(results == NULL, "no results on failure");
    so.mode = 0;
    so.tag_count = 2; /* tags NULL but count 2 */
    CHECK_STATUS(trove_search(engine, "espresso", TROVE_NUL_TERMINATED, &so, &results), TROVE_STATUS_INVALID_ARGUMENT);
    so.tag_count = 0;
    so.one_per_document = 7; /* any nonzero byte is true */
    CHECK_STATUS(trove_search(engine, "espresso", TROVE_NUL_TERMINATED, &so, &results),
                 TROVE_STATUS_OK);
    trove_results_free(results);
    so.one_per_document = 0;
    so.struct_size = 0;
    CHECK_STATUS(trove_search(engine, "espresso", TROVE_NUL_TERMINATED, &so, &results), TROVE_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(trove_search(engine, NULL, TROVE_NUL_TERMINATED, NULL, &results), TROVE_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(trove_search(engine, "caf\xc3", TROVE_NUL_TERMINATED, NULL, &results), TROVE_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(trove_search(engine, "   ", TROVE_NUL_TERMINATED, NULL, &results), TROVE_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(trove_search(engine, "espresso", TROVE_NUL_TERMINATED, NULL, NULL), TROVE_STATUS_INVALID_ARGUMENT);

    /* Removing a path. */
    uint64_t removed_count = 99;
    char bike[400];
    snprintf(bike, sizeof bike, "%s/bicycle.md", notes);
    CHECK_STATUS(trove_remove_path(engine, bike, &removed_count), TROVE_STATUS_OK);
    CHECK(removed_count == 1, "removed %llu", (unsigned long long)removed_count);
    CHECK_STATUS(trove_remove_path(engine, bike, &removed_count), TROVE_STATUS_OK);
    CHECK(removed_count == 0, "nothing left to remove");
    so.struct_size = sizeof so;
    so.mode = TROVE_SEARCH_MODE_KEYWORD;
    CHECK_STATUS(trove_search(engine, "chain", TROVE_NUL_TERMINATED, &so, &results), TROVE_STATUS_OK);
    CHECK(trove_results_count(results) == 0, "removed file is not found");
    trove_results_free(results);
}

static void test_host_text(trove_engine *engine) {
    CHECK_STATUS(add_note(engine, "note-42", "Plant watering",
                          "Water the fern every *Tuesday* with 200 ml.",
                          "{\"tags\": [\"garden\"]}"),
                 TROVE_STATUS_OK);
    CHECK_STATUS(add_note(engine, "note-43", "Untagged", "Ferns like shade.", NULL),
                 TROVE_STATUS_OK);
    CHECK_STATUS(add_note(engine, NULL, "t", "x", NULL), TROVE_STATUS_INVALID_ARGUMENT);
    CHECK(strstr(trove_last_error(), "note.id") != NULL, "%s", trove_last_error());
    CHECK_STATUS(add_note(engine, "", "t", "x", NULL), TROVE_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(add_note(engine, "bad", "t", "caf\xe9", NULL), TROVE_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(add_note(engine, "bad", "t", "x", "{not json"), TROVE_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(trove_add_text(engine, NULL, NULL), TROVE_STATUS_INVALID_ARGUMENT);

    /* A note handed over as buffers with lengths (not NUL-terminated), and
     * its summary. */
    const char id[] = {'n', 'o', 't', 'e', '-', '4', '4', '!'};
    const char text[] = "Prune the roses in March.#### not part of the note";
    trove_note note;
    memset(&note, 0, sizeof note);
    note.struct_size = sizeof note;
    note.id = id;
    note.id_len = 7;
    note.text = text;
    note.text_len = strlen("Prune the roses in March.");
    char *summary = NULL;
    CHECK_STATUS(trove_add_text(engine, &note, &summary), TROVE_STATUS_OK);
    CHECK(summary && strstr(summary, "\"chunks_embedded\":1"), "summary %s", summary);
    trove_string_free(summary);
    bool gone = false;
    CHECK_STATUS(trove_remove_document(engine, id, 7, &gone), TROVE_STATUS_OK);
    CHECK(gone, "note-44 was stored under its 7-byte id");
    note.struct_size = 0;
    CHECK_STATUS(trove_add_text(engine, &note, &summary), TROVE_STATUS_INVALID_ARGUMENT);
    CHECK(summary == NULL, "no summary on failure");

    trove_search_options so;
    memset(&so, 0, sizeof so);
    so.struct_size = sizeof so;
    const char *tags[] = {"garden"};
    so.tags = tags;
    so.tag_count = 1;
    trove_results *results = NULL;
    CHECK_STATUS(trove_search(engine, "when do I water the fern", TROVE_NUL_TERMINATED, &so, &results),
                 TROVE_STATUS_OK);
    CHECK(trove_results_count(results) == 1, "tag filter: %zu hits", trove_results_count(results));
    CHECK(hit_path(results, 0) == NULL, "host text has no path");
    CHECK(strcmp(hit_document_id(results, 0), "note-42") == 0, "host id");
    const trove_hit *tagged = trove_results_hit(results, 0);
    CHECK(trove_hit_tag_count(tagged) == 1 && strcmp(trove_hit_tag(tagged, 0, NULL), "garden") == 0,
          "the hit carries its tag");
    trove_results_free(results);

    const char *ids[] = {"note-43"};
    so.tags = NULL;
    so.tag_count = 0;
    so.document_ids = ids;
    so.document_id_count = 1;
    CHECK_STATUS(trove_search(engine, "fern", TROVE_NUL_TERMINATED, &so, &results), TROVE_STATUS_OK);
    CHECK(trove_results_count(results) == 1 && strcmp(hit_document_id(results, 0), "note-43") == 0,
          "id filter");
    trove_results_free(results);

    bool removed = false;
    CHECK_STATUS(trove_remove_document(engine, "note-43", TROVE_NUL_TERMINATED, &removed),
                 TROVE_STATUS_OK);
    CHECK(removed, "removed");
    CHECK_STATUS(trove_remove_document(engine, "note-43", TROVE_NUL_TERMINATED, &removed),
                 TROVE_STATUS_OK);
    CHECK(!removed, "already gone");
    CHECK_STATUS(trove_remove_document(engine, NULL, TROVE_NUL_TERMINATED, &removed),
                 TROVE_STATUS_INVALID_ARGUMENT);
}

typedef struct {
    char text[4096];
    size_t pieces;
    size_t stop_after; /* 0: never stop */
} stream_t;

static int32_t collect(const char *piece, size_t piece_len, void *user_data) {
    stream_t *s = user_data;
    if (piece_len != strlen(piece)) s->pieces += 1000; /* would fail the piece counts */
    strncat(s->text, piece, sizeof s->text - strlen(s->text) - 1);
    s->pieces++;
    return s->stop_after == 0 || s->pieces < s->stop_after;
}

/* Options of a generated answer (the model writes, trove checks). */
static trove_ask_options ask_options(uint32_t max_tokens) {
    trove_ask_options o;
    memset(&o, 0, sizeof o);
    o.struct_size = sizeof o;
    o.max_tokens = max_tokens;
    o.strategy = TROVE_ANSWER_STRATEGY_GENERATIVE;
    return o;
}

/* The default answer quotes its source without the model; a question the
 * notes cannot answer is declined, naming the closest; never_decline and
 * min_grounding move the decision; bad values are refused. */
static void test_grounded_or_declined(trove_engine *engine) {
    stream_t s;
    memset(&s, 0, sizeof s);
    trove_answer *answer = NULL;
    CHECK_STATUS(trove_ask(engine, "What brew temperature do I use for espresso?", TROVE_NUL_TERMINATED, NULL,
                           collect, &s, &answer),
                 TROVE_STATUS_OK);
    CHECK(!trove_answer_declined(answer), "answered: %s", trove_answer_json(answer, NULL));
    CHECK(!trove_answer_fallback(answer), "nothing to fall back from");
    CHECK(trove_answer_grounding(answer) >= 0.4f, "grounding %f", trove_answer_grounding(answer));
    const char *text = trove_answer_text(answer, NULL);
    CHECK(text && strstr(text, "93") && strstr(text, "[1]"), "a quote with its source: %s", text);
    CHECK(strcmp(text, s.text) == 0, "streamed once, whole");
    CHECK(trove_answer_citation_count(answer) >= 1 &&
              strstr(trove_hit_path(trove_answer_citation_hit(answer, 0), NULL), "espresso.md"),
          "cites espresso.md");
    CHECK(trove_answer_timing(answer, TROVE_TIMING_DECODE_TOKENS) == 0, "no model ran");
    const char *json = trove_answer_json(answer, NULL);
    CHECK(json && strstr(json, "\"declined\":false") && strstr(json, "\"sentences\":[{") &&
              strstr(json, "\"support\":{"),
          "json %s", json);
    trove_answer_free(answer);

    CHECK_STATUS(trove_ask(engine, "Who won the football world cup in 2014?", TROVE_NUL_TERMINATED, NULL, NULL,
                           NULL, &answer),
                 TROVE_STATUS_OK);
    CHECK(trove_answer_declined(answer), "declined: %s", trove_answer_json(answer, NULL));
    CHECK(strncmp(trove_answer_text(answer, NULL), "Not in your documents", 21) == 0, "%s",
          trove_answer_text(answer, NULL));
    CHECK(trove_answer_citation_count(answer) == 0, "cites nothing");
    CHECK(trove_answer_passage_count(answer) >= 1, "the closest passages are kept");
    float score = trove_answer_grounding(answer);
    CHECK(score < 0.4f, "grounding %f", score);
    trove_answer_free(answer);

    trove_ask_options o;
    memset(&o, 0, sizeof o);
    o.struct_size = sizeof o;
    o.never_decline = 1;
    CHECK_STATUS(trove_ask(engine, "Who won the football world cup in 2014?", TROVE_NUL_TERMINATED, &o, NULL, NULL,
                           &answer),
                 TROVE_STATUS_OK);
    CHECK(!trove_answer_declined(answer), "never_decline");
    trove_answer_free(answer);
    o.never_decline = 0;
    o.min_grounding = 0.999999f;
    CHECK_STATUS(trove_ask(engine, "What brew temperature do I use for espresso?", TROVE_NUL_TERMINATED, &o, NULL,
                           NULL, &answer),
                 TROVE_STATUS_OK);
    CHECK(trove_answer_declined(answer), "a threshold of almost 1 declines");
    trove_answer_free(answer);

    CHECK(!trove_answer_declined(NULL) && trove_answer_grounding(NULL) == 0.0f && !trove_answer_fallback(NULL),
          "NULL answers");
    o.min_grounding = 1.5f;
    CHECK_STATUS(trove_ask(engine, "espresso?", TROVE_NUL_TERMINATED, &o, NULL, NULL, &answer),
                 TROVE_STATUS_INVALID_ARGUMENT);
    CHECK(strstr(trove_last_error(), "min_grounding"), "%s", trove_last_error());
    o.min_grounding = 0;
    o.strategy = 7;
    CHECK_STATUS(trove_ask(engine, "espresso?", TROVE_NUL_TERMINATED, &o, NULL, NULL, &answer),
                 TROVE_STATUS_INVALID_ARGUMENT);
    CHECK(strstr(trove_last_error(), "trove_answer_strategy"), "%s", trove_last_error());
}

static void test_ask(trove_engine *engine) {
    stream_t s;
    memset(&s, 0, sizeof s);
    trove_ask_options o = ask_options(48);
    trove_answer *answer = NULL;
    CHECK_STATUS(trove_ask(engine, "What brew temperature do I use for espresso?", TROVE_NUL_TERMINATED, &o, collect,
                           &s, &answer),
                 TROVE_STATUS_OK);
    size_t text_len = 0;
    const char *text = trove_answer_text(answer, &text_len);
    CHECK(text && strlen(text) > 0 && text_len == strlen(text), "an answer");
    CHECK(text && strcmp(text, s.text) == 0, "streamed pieces make the answer: [%s] vs [%s]",
          s.text, text ? text : "NULL");
    CHECK(s.pieces >= 2, "%zu pieces", s.pieces);
    size_t citations = trove_answer_citation_count(answer);
    CHECK(citations >= 1, "%zu citations", citations);
    bool cites_espresso = false;
    size_t passages = trove_answer_passage_count(answer);
    CHECK(passages >= 1 && passages <= 3, "%zu passages", passages);
    for (size_t i = 0; i < citations; i++) {
        const trove_hit *hit = trove_answer_citation_hit(answer, i);
        const char *p = trove_hit_path(hit, NULL);
        if (p && strstr(p, "espresso.md")) cites_espresso = true;
        uint32_t n = trove_answer_citation_n(answer, i);
        CHECK(n >= 1 && n <= passages, "n %u", n);
        /* [n] is passage n - 1: the same chunk, read through the same accessors. */
        CHECK(trove_hit_chunk_id(trove_answer_passage(answer, n - 1)) == trove_hit_chunk_id(hit),
              "citation %u is passage %u", n, n - 1);
        CHECK(trove_hit_title(hit, NULL) != NULL, "title");
        CHECK(trove_hit_text(hit, NULL) != NULL, "text");
        CHECK(trove_hit_document_id(hit, NULL) != NULL, "id");
        uint32_t a = 0, b = 0;
        CHECK(trove_hit_lines(hit, &a, &b) && a >= 1, "lines");
        CHECK(trove_hit_page(hit) == 0, "no page");
        (void)trove_answer_citation_inferred(answer, i);
    }
    CHECK(cites_espresso, "cites espresso.md: %s", trove_answer_json(answer, NULL));
    CHECK(trove_answer_citation_n(answer, citations) == 0, "out of range");
    CHECK(trove_answer_citation_hit(answer, citations) == NULL, "out of range");
    CHECK(trove_answer_passage(answer, passages) == NULL, "out of range");
    CHECK(trove_answer_timing(answer, TROVE_TIMING_PROMPT_TOKENS) > 10, "prompt tokens");
    CHECK(trove_answer_timing(answer, TROVE_TIMING_DECODE_TOKENS) >= 1, "decode tokens");
    CHECK(trove_answer_timing(answer, TROVE_TIMING_DECODE_TOK_S) > 0, "speed");
    CHECK(trove_answer_timing(answer, TROVE_TIMING_TOTAL_MS) >=
              trove_answer_timing(answer, TROVE_TIMING_TTFT_MS), "total >= ttft");
    CHECK(trove_answer_timing(answer, 99) == 0.0, "unknown timing");
    uint32_t reason = trove_answer_stop_reason(answer);
    CHECK(reason == TROVE_STOP_REASON_END_OF_TEXT || reason == TROVE_STOP_REASON_MAX_TOKENS,
          "reason %u", reason);
    const char *json = trove_answer_json(answer, NULL);
    CHECK(json && strstr(json, "\"citations\"") && strstr(json, "\"timings\"") &&
              strstr(json, "\"passages\"") && strstr(json, "\"stop_reason\""),
          "json %s", json);
    trove_answer_free(answer);

    /* The callback stops generation: the answer so far is kept. */
    memset(&s, 0, sizeof s);
    s.stop_after = 2;
    o = ask_options(64);
    CHECK_STATUS(trove_ask(engine, "How do I feed the sourdough starter?", TROVE_NUL_TERMINATED, &o, collect, &s, &answer),
                 TROVE_STATUS_OK);
    CHECK(s.pieces == 2, "stopped after 2 pieces, got %zu: %s", s.pieces, trove_answer_json(answer, NULL));
    CHECK(trove_answer_stop_reason(answer) == TROVE_STOP_REASON_CALLBACK, "stop reason");
    CHECK(strcmp(trove_answer_text(answer, NULL), s.text) == 0, "kept text");
    trove_answer_free(answer);

    /* NULL callback is fine. */
    o = ask_options(4);
    CHECK_STATUS(trove_ask(engine, "What flour feeds the starter?", TROVE_NUL_TERMINATED, &o, NULL, NULL, &answer),
                 TROVE_STATUS_OK);
    trove_answer_free(answer);

    /* Errors. */
    CHECK_STATUS(trove_ask(engine, NULL, TROVE_NUL_TERMINATED, NULL, NULL, NULL, &answer), TROVE_STATUS_INVALID_ARGUMENT);
    CHECK(answer == NULL, "no answer on failure");
    CHECK_STATUS(trove_ask(engine, "\xc3\x28", TROVE_NUL_TERMINATED, NULL, NULL, NULL, &answer),
                 TROVE_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(trove_ask(engine, "   ", TROVE_NUL_TERMINATED, NULL, NULL, NULL, &answer), TROVE_STATUS_INVALID_ARGUMENT);
    o.temperature = -1.0f;
    CHECK_STATUS(trove_ask(engine, "espresso?", TROVE_NUL_TERMINATED, &o, NULL, NULL, &answer),
                 TROVE_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(trove_ask(engine, "espresso?", TROVE_NUL_TERMINATED, NULL, NULL, NULL, NULL),
                 TROVE_STATUS_INVALID_ARGUMENT);
}

/* A conversation: the follow-up finds the note of the question before it,
 * a generated follow-up reuses the previous turn's prompt, the turns save
 * to JSON and restore, and bad input is refused. */
static void test_conversation(trove_engine *engine) {
    trove_conversation *chat = trove_conversation_new();
    CHECK(chat != NULL && trove_conversation_turn_count(chat) == 0, "a new conversation");
    trove_answer *answer = NULL;
    CHECK_STATUS(trove_ask_in(engine, chat, "What brew temperature do I use for espresso?", TROVE_NUL_TERMINATED,
                              NULL, NULL, NULL, &answer),
                 TROVE_STATUS_OK);
    trove_answer_free(answer);
    CHECK_STATUS(trove_ask_in(engine, chat, "And how long does it take?", TROVE_NUL_TERMINATED, NULL, NULL, NULL,
                              &answer),
                 TROVE_STATUS_OK);
    const trove_hit *top = trove_answer_passage(answer, 0);
    CHECK(top && strstr(trove_hit_path(top, NULL), "espresso.md"), "the follow-up finds the espresso note: %s",
          trove_answer_json(answer, NULL));
    CHECK(strstr(trove_answer_json(answer, NULL), "\"query\":\"What brew temperature do I use for espresso? And how"),
          "searched with the previous question: %s", trove_answer_json(answer, NULL));
    trove_answer_free(answer);
    CHECK(trove_conversation_turn_count(chat) == 2, "two turns");

    /* Generated turns: the second reuses what the first evaluated. */
    trove_ask_options o = ask_options(24);
    CHECK_STATUS(trove_ask_in(engine, chat, "What flour feeds the sourdough starter?", TROVE_NUL_TERMINATED, &o,
                              NULL, NULL, &answer),
                 TROVE_STATUS_OK);
    CHECK(trove_answer_timing(answer, TROVE_TIMING_CACHED_TOKENS) == 0, "nothing generated before");
    trove_answer_free(answer);
    CHECK_STATUS(trove_ask_in(engine, chat, "And how often do I feed it?", TROVE_NUL_TERMINATED, &o, NULL, NULL,
                              &answer),
                 TROVE_STATUS_OK);
    double cached = trove_answer_timing(answer, TROVE_TIMING_CACHED_TOKENS);
    CHECK(cached > 20 && cached < trove_answer_timing(answer, TROVE_TIMING_PROMPT_TOKENS), "cached %f of %f",
          cached, trove_answer_timing(answer, TROVE_TIMING_PROMPT_TOKENS));
    trove_answer_free(answer);

    char *json = NULL;
    CHECK_STATUS(trove_conversation_json(chat, &json), TROVE_STATUS_OK);
    CHECK(json && json[0] == '[' && strstr(json, "\"question\":\"And how often do I feed it?\""), "%s", json);
    trove_conversation *restored = NULL;
    CHECK_STATUS(trove_conversation_from_json(json, TROVE_NUL_TERMINATED, &restored), TROVE_STATUS_OK);
    CHECK(trove_conversation_turn_count(restored) == 4, "restored four turns");
    trove_string_free(json);
    trove_conversation_free(restored);

    CHECK_STATUS(trove_conversation_from_json("{\"not\": \"turns\"}", TROVE_NUL_TERMINATED, &restored),
                 TROVE_STATUS_INVALID_ARGUMENT);
    CHECK(restored == NULL && strstr(trove_last_error(), "conversation"), "%s", trove_last_error());
    CHECK_STATUS(trove_ask_in(engine, NULL, "espresso?", TROVE_NUL_TERMINATED, NULL, NULL, NULL, &answer),
                 TROVE_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(trove_ask_in(engine, chat, "   ", TROVE_NUL_TERMINATED, NULL, NULL, NULL, &answer),
                 TROVE_STATUS_INVALID_ARGUMENT);
    CHECK(trove_conversation_turn_count(chat) == 4, "a failed call adds no turn");
    CHECK(trove_conversation_turn_count(NULL) == 0, "NULL");
    trove_conversation_free(chat);
    trove_conversation_free(NULL);
}

/* ---------- cancellation from another thread ---------- */

typedef struct {
    trove_cancel_token *token;
    atomic_int started; /* set by the callback on the working thread */
} canceller_t;

static void *cancel_when_started(void *arg) {
    canceller_t *c = arg;
    while (!atomic_load(&c->started)) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    trove_cancel_token_cancel(c->token);
    return NULL;
}

static int32_t mark_progress(const trove_progress *p, void *user_data) {
    canceller_t *c = user_data;
    if (p->files_done >= 1) atomic_store(&c->started, 1);
    return 1;
}

static int32_t mark_token(const char *piece, size_t piece_len, void *user_data) {
    (void)piece;
    (void)piece_len;
    canceller_t *c = user_data;
    atomic_store(&c->started, 1);
    return 1;
}

static void test_cancel_from_another_thread(trove_engine *engine) {
    /* Indexing: 40 files; the other thread cancels after the first. */
    char many[300];
    snprintf(many, sizeof many, "%s/many", root);
    mkdir(many, 0700);
    for (int i = 0; i < 40; i++) {
        char path[400], text[400];
        snprintf(path, sizeof path, "%s/note-%02d.md", many, i);
        snprintf(text, sizeof text,
                 "# Note %d\n\nThis note records fact number %d: the locker code is %d%d%d.\n", i,
                 i, i, i * 7, i * 13);
        write_file(path, text);
    }
    canceller_t c = {trove_cancel_token_new(), 0};
    pthread_t thread;
    pthread_create(&thread, NULL, cancel_when_started, &c);
    char *summary = NULL;
    CHECK_STATUS(trove_index_path(engine, many, c.token, mark_progress, &c, &summary),
                 TROVE_STATUS_CANCELLED);
    pthread_join(thread, NULL);
    /* Raised tokens stay raised until reset. */
    CHECK_STATUS(trove_index_path(engine, many, c.token, NULL, NULL, NULL), TROVE_STATUS_CANCELLED);
    trove_cancel_token_reset(c.token);
    CHECK_STATUS(trove_index_path(engine, many, c.token, NULL, NULL, &summary), TROVE_STATUS_OK);
    CHECK(summary && strstr(summary, "\"files_seen\":40"), "resumed: %s", summary);
    trove_string_free(summary);

    /* Generation. */
    trove_cancel_token_reset(c.token);
    atomic_store(&c.started, 0);
    pthread_create(&thread, NULL, cancel_when_started, &c);
    trove_ask_options o = ask_options(200);
    o.cancel = c.token;
    trove_answer *answer = NULL;
    CHECK_STATUS(trove_ask(engine, "Describe every note about locker codes in detail.", TROVE_NUL_TERMINATED, &o,
                           mark_token, &c, &answer),
                 TROVE_STATUS_CANCELLED);
    CHECK(answer == NULL, "no answer when cancelled");
    pthread_join(thread, NULL);
    trove_cancel_token_free(c.token);
}

/* ---------- several threads on one engine ---------- */

typedef struct {
    trove_engine *engine;
    int ok;
    char error[256];
} worker_t;

static void *search_many(void *arg) {
    worker_t *w = arg;
    for (int i = 0; i < 20; i++) {
        trove_results *r = NULL;
        trove_status s = trove_search(w->engine, "sourdough starter flour", TROVE_NUL_TERMINATED, NULL, &r);
        if (s == TROVE_STATUS_OK && trove_results_count(r) > 0) w->ok++;
        trove_results_free(r);
    }
    /* Each thread has its own last error. */
    trove_results *none = NULL;
    trove_search(w->engine, NULL, TROVE_NUL_TERMINATED, NULL, &none);
    snprintf(w->error, sizeof w->error, "%s", trove_last_error());
    return NULL;
}

static void test_threads(trove_engine *engine) {
    worker_t workers[4];
    pthread_t threads_[4];
    add_note(engine, "x", "x", NULL, NULL); /* leaves an error on this thread */
    char mine[256];
    snprintf(mine, sizeof mine, "%s", trove_last_error());
    for (int i = 0; i < 4; i++) {
        workers[i] = (worker_t){engine, 0, ""};
        pthread_create(&threads_[i], NULL, search_many, &workers[i]);
    }
    /* Index while they search. */
    CHECK_STATUS(add_note(engine, "during", "Written meanwhile", "Bread needs salt.", ""),
                 TROVE_STATUS_OK);
    for (int i = 0; i < 4; i++) {
        pthread_join(threads_[i], NULL);
        CHECK(workers[i].ok == 20, "thread %d: %d of 20 searches", i, workers[i].ok);
        CHECK(strstr(workers[i].error, "query") != NULL, "thread's own error: %s",
              workers[i].error);
    }
    CHECK(strstr(mine, "text") != NULL, "this thread's error: %s", mine);
}

static void test_stats(trove_engine *engine) {
    char *json = NULL;
    CHECK_STATUS(trove_stats_json(engine, &json), TROVE_STATUS_OK);
    CHECK(json && strstr(json, "\"documents\":") && strstr(json, "all-MiniLM-L6-v2-int8") &&
              strstr(json, "\"last_index_run\":{") && strstr(json, "\"finished_at_unix\":"),
          "stats %s", json);
    trove_string_free(json);
    CHECK_STATUS(trove_stats_json(NULL, &json), TROVE_STATUS_INVALID_ARGUMENT);
    CHECK(json == NULL, "reset on failure");
    CHECK_STATUS(trove_stats_json(engine, NULL), TROVE_STATUS_INVALID_ARGUMENT);
}

static void test_models(trove_engine *engine) {
    char *json = NULL;
    CHECK_STATUS(trove_models_json(engine, 0, &json), TROVE_STATUS_OK);
    CHECK(json && json[0] == '[' && strstr(json, "\"role\":\"embedding\"") &&
              strstr(json, "\"role\":\"answer\"") && strstr(json, "\"quantization\":\"Q4_1\"") &&
              strstr(json, "\"changed\":false"),
          "models %s", json);
    trove_string_free(json);
    CHECK_STATUS(trove_models_json(NULL, 0, &json), TROVE_STATUS_INVALID_ARGUMENT);
    CHECK(json == NULL, "reset on failure");
}

/* KV cache types and a LoRA adapter reach the answer model; bad values are
 * refused at open. */
static void test_answer_model_options(void) {
    char store[300], zero[400];
    snprintf(store, sizeof store, "%s/store-kv", root);
    snprintf(zero, sizeof zero, "%s/test-lora/zero.gguf", models);
    const char *adapters[] = {zero};
    float scales[] = {1.0f};
    trove_engine_options o = engine_options();
    o.cache_type_k = TROVE_CACHE_TYPE_Q8_0;
    o.cache_type_v = TROVE_CACHE_TYPE_Q8_0;
    o.lora_paths = adapters;
    o.lora_scales = scales;
    o.lora_count = 1;
    trove_engine *engine = NULL;
    CHECK_STATUS(trove_engine_open(store, models, &o, &engine), TROVE_STATUS_OK);
    CHECK_STATUS(add_note(engine, "kettle", "Kettle", "Descale the kettle with citric acid monthly.", NULL),
                 TROVE_STATUS_OK);
    trove_ask_options ao;
    memset(&ao, 0, sizeof ao);
    ao.struct_size = sizeof ao;
    ao.strategy = TROVE_ANSWER_STRATEGY_GENERATIVE;
    ao.max_tokens = 8;
    ao.never_decline = 1;
    trove_answer *answer = NULL;
    CHECK_STATUS(trove_ask(engine, "How do I descale the kettle?", TROVE_NUL_TERMINATED, &ao, NULL, NULL, &answer),
                 TROVE_STATUS_OK);
    trove_answer_free(answer);
    char *json = NULL;
    CHECK_STATUS(trove_models_json(engine, 0, &json), TROVE_STATUS_OK);
    CHECK(json && strstr(json, "\"role\":\"lora_adapter\"") && strstr(json, "\"recorded_by\":\"store\""),
          "models %s", json);
    trove_string_free(json);
    trove_engine_close(engine);

    o = engine_options();
    o.cache_type_v = 7;
    engine = NULL;
    CHECK_STATUS(trove_engine_open(store, models, &o, &engine), TROVE_STATUS_INVALID_ARGUMENT);
    CHECK(engine == NULL && strstr(trove_last_error(), "cache_type_v 7"), "%s", trove_last_error());
    o = engine_options();
    o.lora_count = 1;
    CHECK_STATUS(trove_engine_open(store, models, &o, &engine), TROVE_STATUS_INVALID_ARGUMENT);
    CHECK(strstr(trove_last_error(), "lora_paths"), "%s", trove_last_error());

    /* This library has no GPU backend: gpu_layers reaches the engine, which
     * refuses it when the answer model loads, naming the fix. */
    CHECK_STATUS(trove_gpu_json(&json), TROVE_STATUS_OK);
    CHECK(json && strcmp(json, "{\"backends\":[],\"devices\":[]}") == 0, "gpu %s", json);
    trove_string_free(json);
    CHECK_STATUS(trove_gpu_json(NULL), TROVE_STATUS_INVALID_ARGUMENT);
    o = engine_options();
    o.gpu_layers = 99;
    CHECK_STATUS(trove_engine_open(store, models, &o, &engine), TROVE_STATUS_OK);
    CHECK_STATUS(trove_ask(engine, "How do I descale the kettle?", TROVE_NUL_TERMINATED, &ao, NULL, NULL, &answer),
                 TROVE_STATUS_INVALID_ARGUMENT);
    CHECK(answer == NULL && strstr(trove_last_error(), "gpu_layers is 99") && strstr(trove_last_error(), "`vulkan`"),
          "%s", trove_last_error());
    trove_engine_close(engine);
}

static void test_links(trove_engine *engine) {
    CHECK_STATUS(add_note(engine, "host:links-a", "Alpha", "Alpha links to [[Beta|the second note]].", NULL),
                 TROVE_STATUS_OK);
    CHECK_STATUS(add_note(engine, "host:links-b", "Beta", "Beta stands alone.", NULL), TROVE_STATUS_OK);
    char *json = NULL;
    CHECK_STATUS(trove_outgoing_links_json(engine, "host:links-a", TROVE_NUL_TERMINATED, &json), TROVE_STATUS_OK);
    CHECK(json && strstr(json, "\"target\":\"Beta\"") && strstr(json, "\"alias\":\"the second note\"") &&
              strstr(json, "\"resolved\":{\"document_id\":\"host:links-b\""),
          "outgoing %s", json);
    trove_string_free(json);
    CHECK_STATUS(trove_backlinks_json(engine, "host:links-b", 12, &json), TROVE_STATUS_OK);
    CHECK(json && strstr(json, "\"source\":{\"document_id\":\"host:links-a\""), "backlinks %s", json);
    trove_string_free(json);
    CHECK_STATUS(trove_backlinks_json(engine, "host:none", TROVE_NUL_TERMINATED, &json), TROVE_STATUS_NOT_FOUND);
    CHECK(json == NULL, "reset on failure");
    CHECK(strstr(trove_last_error(), "no document"), "names the problem: %s", trove_last_error());
    CHECK_STATUS(trove_outgoing_links_json(engine, NULL, 0, &json), TROVE_STATUS_INVALID_ARGUMENT);

    /* A web page's passage is placed by paragraph, not by lines. */
    char pages[400], page[500];
    snprintf(pages, sizeof pages, "%s/pages", root);
    mkdir(pages, 0700);
    snprintf(page, sizeof page, "%s/kettle.html", pages);
    write_file(page, "<html><head><title>Kettle</title></head><body><h1>Kettle</h1>"
                     "<p>Descale the kettle with citric acid every month.</p></body></html>");
    CHECK_STATUS(trove_index_path(engine, pages, NULL, NULL, NULL, NULL), TROVE_STATUS_OK);
    trove_search_options kw;
    memset(&kw, 0, sizeof kw);
    kw.struct_size = sizeof kw;
    kw.mode = TROVE_SEARCH_MODE_KEYWORD;
    trove_results *results = NULL;
    CHECK_STATUS(trove_search(engine, "descale citric", TROVE_NUL_TERMINATED, &kw, &results), TROVE_STATUS_OK);
    const trove_hit *hit = trove_results_hit(results, 0);
    size_t len = 0;
    const char *locator = trove_hit_locator(hit, &len);
    CHECK(hit && strstr(trove_hit_path(hit, NULL), "kettle.html") && locator && strstr(locator, "\xc2\xb6 ") &&
              len == strlen(locator),
          "paragraph locator %s", locator ? locator : "(null)");
    CHECK(!trove_hit_lines(hit, NULL, NULL), "a web page has no lines");
    trove_results_free(results);
    CHECK(trove_hit_locator(NULL, &len) == NULL && len == 0, "NULL hit");
    CHECK_STATUS(trove_remove_path(engine, pages, NULL), TROVE_STATUS_OK);
    CHECK_STATUS(trove_remove_document(engine, "host:links-a", TROVE_NUL_TERMINATED, NULL), TROVE_STATUS_OK);
    CHECK_STATUS(trove_remove_document(engine, "host:links-b", TROVE_NUL_TERMINATED, NULL), TROVE_STATUS_OK);
}

static void test_explain(trove_engine *engine) {
    char espresso[500], *json = NULL;
    snprintf(espresso, sizeof espresso, "%s/espresso.md", notes);
    char *real = realpath(espresso, NULL);
    CHECK(real != NULL, "realpath");
    CHECK_STATUS(trove_document_status_json(engine, real, TROVE_NUL_TERMINATED, &json), TROVE_STATUS_OK);
    CHECK(json && strstr(json, "\"state\":\"indexed\""), "status %s", json);
    trove_string_free(json);
    CHECK_STATUS(trove_document_status_json(engine, "/nowhere.md", TROVE_NUL_TERMINATED, &json), TROVE_STATUS_OK);
    CHECK(json && strstr(json, "\"state\":\"not_indexed\""), "status %s", json);
    trove_string_free(json);
    CHECK_STATUS(trove_explain_json(engine, "espresso brew temperature", TROVE_NUL_TERMINATED, real,
                                    TROVE_NUL_TERMINATED, &json),
                 TROVE_STATUS_OK);
    CHECK(json && strstr(json, "\"hybrid\":{\"rank\":1,") && strstr(json, "ranks it first"), "explain %s", json);
    trove_string_free(json);
    CHECK_STATUS(trove_explain_json(engine, "   ", TROVE_NUL_TERMINATED, real, TROVE_NUL_TERMINATED, &json),
                 TROVE_STATUS_INVALID_ARGUMENT);
    CHECK(json == NULL, "reset on failure");
    CHECK_STATUS(trove_explain_json(engine, "x", 1, NULL, 0, &json), TROVE_STATUS_INVALID_ARGUMENT);
    free(real);
}

/* ---------- watching ---------- */

typedef struct {
    pthread_mutex_t lock;
    int calls, ready, indexed, removed, failed;
    char last_path[512];
    double last_latency_ms;
    bool go_on;
} watch_log_t;

static int32_t on_watch_event(const trove_watch_event *e, void *user_data) {
    watch_log_t *log = user_data;
    pthread_mutex_lock(&log->lock);
    log->calls++;
    switch (e->kind) {
    case TROVE_WATCH_EVENT_KIND_READY: log->ready++; break;
    case TROVE_WATCH_EVENT_KIND_INDEXED: log->indexed++; break;
    case TROVE_WATCH_EVENT_KIND_REMOVED: log->removed++; break;
    case TROVE_WATCH_EVENT_KIND_FAILED: log->failed++; break;
    default: break;
    }
    if (e->path) snprintf(log->last_path, sizeof log->last_path, "%s", e->path);
    log->last_latency_ms = e->latency_ms;
    bool go_on = log->go_on;
    pthread_mutex_unlock(&log->lock);
    return go_on;
}

/* Waits (generously: this is not a timing test) until *counter reaches want. */
static bool wait_for(watch_log_t *log, int *counter, int want) {
    for (int i = 0; i < 1200; i++) {
        pthread_mutex_lock(&log->lock);
        int now = *counter;
        pthread_mutex_unlock(&log->lock);
        if (now >= want) return true;
        struct timespec ts = {0, 100000000};
        nanosleep(&ts, NULL);
    }
    return false;
}

static void test_watch(trove_engine *engine) {
    char dir[300], file[400];
    snprintf(dir, sizeof dir, "%s/watched", root);
    mkdir(dir, 0700);
    snprintf(file, sizeof file, "%s/first.md", dir);
    write_file(file, "# First\n\nThe boiler pressure is 9 bar.\n");

    watch_log_t log = {PTHREAD_MUTEX_INITIALIZER, 0, 0, 0, 0, 0, "", 0.0, true};
    const char *paths[] = {dir};
    trove_watcher *watcher = NULL;
    CHECK_STATUS(trove_watch_start(engine, paths, 1, 100, on_watch_event, &log, &watcher),
                 TROVE_STATUS_OK);
    CHECK(wait_for(&log, &log.ready, 1), "ready event");

    snprintf(file, sizeof file, "%s/second.md", dir);
    write_file(file, "# Second\n\nThe greenhouse vents open at 26 degrees.\n");
    CHECK(wait_for(&log, &log.indexed, 1), "indexed event");
    pthread_mutex_lock(&log.lock);
    CHECK(strstr(log.last_path, "second.md") != NULL, "path %s", log.last_path);
    CHECK(log.last_latency_ms > 0.0, "latency %f", log.last_latency_ms);
    pthread_mutex_unlock(&log.lock);
    trove_search_options so;
    memset(&so, 0, sizeof so);
    so.struct_size = sizeof so;
    so.mode = TROVE_SEARCH_MODE_KEYWORD;
    so.k = 1;
    trove_results *results = NULL;
    CHECK_STATUS(trove_search(engine, "greenhouse vents", TROVE_NUL_TERMINATED, &so, &results), TROVE_STATUS_OK);
    CHECK(trove_results_count(results) == 1 && strstr(hit_path(results, 0), "second.md"),
          "new file searchable");
    trove_results_free(results);

    unlink(file);
    CHECK(wait_for(&log, &log.removed, 1), "removed event");
    CHECK_STATUS(trove_search(engine, "greenhouse vents", TROVE_NUL_TERMINATED, &so, &results), TROVE_STATUS_OK);
    CHECK(trove_results_count(results) == 0, "deleted file gone");
    trove_results_free(results);
    trove_watch_stop(watcher);

    /* A callback returning false receives nothing more. */
    watch_log_t once = {PTHREAD_MUTEX_INITIALIZER, 0, 0, 0, 0, 0, "", 0.0, false};
    CHECK_STATUS(trove_watch_start(engine, paths, 1, 100, on_watch_event, &once, &watcher),
                 TROVE_STATUS_OK);
    CHECK(wait_for(&once, &once.ready, 1), "ready");
    snprintf(file, sizeof file, "%s/third.md", dir);
    write_file(file, "# Third\n\nA third note.\n");
    struct timespec ts = {2, 0};
    nanosleep(&ts, NULL);
    trove_watch_stop(watcher);
    CHECK(once.calls == 1, "%d calls after returning false", once.calls);

    /* Errors. */
    CHECK_STATUS(trove_watch_start(engine, NULL, 1, 0, on_watch_event, &log, &watcher),
                 TROVE_STATUS_INVALID_ARGUMENT);
    CHECK(watcher == NULL, "reset on failure");
    CHECK_STATUS(trove_watch_start(engine, paths, 1, 0, NULL, NULL, &watcher),
                 TROVE_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(trove_watch_start(engine, paths, 0, 0, on_watch_event, &log, &watcher),
                 TROVE_STATUS_INVALID_ARGUMENT);
    const char *missing[] = {"/no/such/folder"};
    CHECK_STATUS(trove_watch_start(engine, missing, 1, 0, on_watch_event, &log, &watcher),
                 TROVE_STATUS_NOT_FOUND);
    trove_watch_stop(NULL);
}

/* ---------- model and store errors ---------- */

static void link_into(const char *dir, const char *name, const char *target_dir) {
    char from[600], to[600];
    snprintf(from, sizeof from, "%s/%s", target_dir, name);
    snprintf(to, sizeof to, "%s/%s", dir, name);
    if (symlink(from, to) != 0) {
        perror(to);
        exit(2);
    }
}

static void test_wrong_llm_and_other_embedder(void) {
    /* A text file where the GGUF model should be: opening works (the answer
     * model loads on the first generated answer), asking for one fails with a
     * model error; quoting needs no answer model. */
    char store[300], fake[300];
    snprintf(store, sizeof store, "%s/store-wrong-llm", root);
    snprintf(fake, sizeof fake, "%s/not-a-model.gguf", root);
    write_file(fake, "this is not a GGUF file\n");
    trove_engine_options o = engine_options();
    o.llm_path = fake;
    trove_engine *engine = NULL;
    CHECK_STATUS(trove_engine_open(store, models, &o, &engine), TROVE_STATUS_OK);
    CHECK_STATUS(add_note(engine, "a", "A", "The sky is blue.", NULL), TROVE_STATUS_OK);
    trove_answer *answer = NULL;
    trove_ask_options generate = ask_options(16);
    CHECK_STATUS(trove_ask(engine, "What colour is the sky?", TROVE_NUL_TERMINATED, &generate, NULL, NULL, &answer),
                 TROVE_STATUS_MODEL);
    CHECK(strstr(trove_last_error(), "not-a-model.gguf") != NULL, "names the file: %s",
          trove_last_error());
    o.llm_path = "/no/such/model.gguf";
    trove_engine_close(engine);
    CHECK_STATUS(trove_engine_open(store, models, &o, &engine), TROVE_STATUS_OK);
    CHECK_STATUS(trove_ask(engine, "What colour is the sky?", TROVE_NUL_TERMINATED, &generate, NULL, NULL, &answer),
                 TROVE_STATUS_NOT_FOUND);
    CHECK_STATUS(trove_ask(engine, "What colour is the sky?", TROVE_NUL_TERMINATED, NULL, NULL, NULL, &answer),
                 TROVE_STATUS_OK);
    CHECK(strstr(trove_answer_text(answer, NULL), "The sky is blue."), "quoted without the model: %s",
          trove_answer_text(answer, NULL));
    trove_answer_free(answer);
    trove_engine_close(engine);

    /* Another embedding model: same files but a tokenizer.json that differs
     * by one byte, so its fingerprint differs. */
    char other[300], emb[400], real_emb[400], tok[500];
    snprintf(other, sizeof other, "%s/other-models", root);
    snprintf(emb, sizeof emb, "%s/all-MiniLM-L6-v2-int8", other);
    snprintf(real_emb, sizeof real_emb, "%s/all-MiniLM-L6-v2-int8", models);
    mkdir(other, 0700);
    mkdir(emb, 0700);
    link_into(other, "onnxruntime", models);
    link_into(other, "SmolLM2-135M-Instruct.Q4_1.gguf", models);
    const char *files[] = {"model.onnx", "config.json", "special_tokens_map.json",
                           "tokenizer_config.json"};
    for (size_t i = 0; i < 4; i++) link_into(emb, files[i], real_emb);
    snprintf(tok, sizeof tok, "%s/tokenizer.json", real_emb);
    size_t len = 0;
    char *tokenizer = read_file(tok, &len);
    tokenizer[len] = '\n';
    tokenizer[len + 1] = '\0';
    snprintf(tok, sizeof tok, "%s/tokenizer.json", emb);
    write_file(tok, tokenizer);
    free(tokenizer);

    engine = NULL;
    o = engine_options();
    CHECK_STATUS(trove_engine_open(store, other, &o, &engine), TROVE_STATUS_INCOMPATIBLE_STORE);
    CHECK(engine == NULL, "refused");
    CHECK(strstr(trove_last_error(), "reembed") != NULL ||
              strstr(trove_last_error(), "re-embed") != NULL, "names the fix: %s",
          trove_last_error());
    o.reembed = 1;
    CHECK_STATUS(trove_engine_open(store, other, &o, &engine), TROVE_STATUS_OK);
    trove_results *results = NULL;
    CHECK_STATUS(trove_search(engine, "sky colour", TROVE_NUL_TERMINATED, NULL, &results), TROVE_STATUS_OK);
    CHECK(trove_results_count(results) == 1, "re-embedded store answers");
    trove_results_free(results);
    trove_engine_close(engine);
}

/* A store on the multilingual embedding model (embedding_path), fed notes in
 * other scripts: CJK found by one character, emoji, right-to-left and
 * combining marks indexed, a query of only punctuation refused. */
static void test_multilingual_store(void) {
    char store[300], e5[400];
    snprintf(store, sizeof store, "%s/store-multilingual", root);
    snprintf(e5, sizeof e5, "%s/multilingual-e5-small/multilingual-e5-small-q4_0.gguf", models);
    trove_engine_options o = engine_options();
    o.embedding_path = e5;
    trove_engine *engine = NULL;
    CHECK_STATUS(trove_engine_open(store, models, &o, &engine), TROVE_STATUS_OK);
    CHECK_STATUS(add_note(engine, "ja", "\xe3\x83\x95\xe3\x82\xa7\xe3\x83\xaa\xe3\x83\xbc",
                          /* フェリーは七時に港を出発します。 */
                          "\xe3\x83\x95\xe3\x82\xa7\xe3\x83\xaa\xe3\x83\xbc\xe3\x81\xaf\xe4\xb8\x83"
                          "\xe6\x99\x82\xe3\x81\xab\xe6\xb8\xaf\xe3\x82\x92\xe5\x87\xba\xe7\x99\xba"
                          "\xe3\x81\x97\xe3\x81\xbe\xe3\x81\x99\xe3\x80\x82", NULL),
                 TROVE_STATUS_OK);
    /* Arabic, an emoji ZWJ family, "cafe" + combining acute. */
    CHECK_STATUS(add_note(engine, "mixed", "Mixed",
                          "\xd8\xa7\xd9\x84\xd9\x85\xd9\x83\xd8\xaa\xd8\xa8\xd8\xa9 "
                          "\xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x91\xa7 "
                          "cafe\xcc\x81 opens at nine.", NULL),
                 TROVE_STATUS_OK);
    trove_search_options so;
    memset(&so, 0, sizeof so);
    so.struct_size = sizeof so;
    so.mode = TROVE_SEARCH_MODE_KEYWORD;
    trove_results *results = NULL;
    CHECK_STATUS(trove_search(engine, "\xe6\xb8\xaf" /* 港 */, TROVE_NUL_TERMINATED, &so, &results),
                 TROVE_STATUS_OK);
    CHECK(trove_results_count(results) == 1 && strcmp(hit_document_id(results, 0), "ja") == 0,
          "one CJK character finds its note: %zu hits", trove_results_count(results));
    trove_results_free(results);
    CHECK_STATUS(trove_search(engine, "caf\xc3\xa9" /* café, precomposed */, TROVE_NUL_TERMINATED, &so,
                              &results),
                 TROVE_STATUS_OK);
    CHECK(trove_results_count(results) == 1 && strcmp(hit_document_id(results, 0), "mixed") == 0,
          "composed and decomposed accents match: %zu hits", trove_results_count(results));
    trove_results_free(results);
    CHECK_STATUS(trove_search(engine, "\xe3\x80\x82\xef\xbc\x81" /* 。！ */, TROVE_NUL_TERMINATED, &so,
                              &results),
                 TROVE_STATUS_INVALID_ARGUMENT);
    CHECK(results == NULL, "no results on error");
    /* Hybrid search: the vector side answers what keywords cannot. */
    so.mode = TROVE_SEARCH_MODE_HYBRID;
    CHECK_STATUS(trove_search(engine, "\xe3\x80\x82\xef\xbc\x81", TROVE_NUL_TERMINATED, &so, &results),
                 TROVE_STATUS_OK);
    trove_results_free(results);
    trove_engine_close(engine);

    /* Reopened without embedding_path, the English model is refused. */
    o = engine_options();
    CHECK_STATUS(trove_engine_open(store, models, &o, &engine), TROVE_STATUS_INCOMPATIBLE_STORE);
}

static int32_t count_batches(const trove_progress *p, void *user_data) {
    *(uint64_t *)user_data = p->chunks_embedded;
    return 1;
}

/* embed_in_background: notes are keyword-searchable at once, without
 * vectors; trove_embedding_finish embeds them; pause, resume, threads. */
static void test_background_embedding(void) {
    char store[300];
    snprintf(store, sizeof store, "%s/store-background", root);
    trove_engine_options o = engine_options();
    o.embed_in_background = 1;
    o.embedding_threads = 1;
    trove_engine *engine = NULL;
    CHECK_STATUS(trove_engine_open(store, models, &o, &engine), TROVE_STATUS_OK);
    CHECK_STATUS(trove_embedding_pause(engine), TROVE_STATUS_OK);
    char *json = NULL;
    CHECK_STATUS(add_note(engine, "kettle", "Kettle", "Descale the kettle with citric acid monthly.", NULL),
                 TROVE_STATUS_OK);
    CHECK_STATUS(trove_embedding_status_json(engine, &json), TROVE_STATUS_OK);
    CHECK(json && strstr(json, "\"pending\":1") && strstr(json, "\"paused\":true") &&
              strstr(json, "\"threads\":1"),
          "status %s", json);
    trove_string_free(json);
    CHECK_STATUS(trove_document_status_json(engine, "kettle", TROVE_NUL_TERMINATED, &json), TROVE_STATUS_OK);
    CHECK(json && strstr(json, "\"state\":\"pending_embedding\""), "document status %s", json);
    trove_string_free(json);
    trove_results *results = NULL;
    CHECK_STATUS(trove_search(engine, "kettle descale", TROVE_NUL_TERMINATED, NULL, &results), TROVE_STATUS_OK);
    CHECK(trove_results_count(results) == 1 && !trove_hit_embedded(trove_results_hit(results, 0)),
          "found by its keywords before its vector exists");
    trove_results_free(results);

    uint64_t embedded = 0;
    CHECK_STATUS(trove_embedding_set_threads(engine, 1), TROVE_STATUS_OK);
    CHECK_STATUS(trove_embedding_finish(engine, NULL, count_batches, &embedded, &json), TROVE_STATUS_OK);
    CHECK(embedded == 1 && json && strstr(json, "\"chunks_pending\":0"), "finish %s", json);
    trove_string_free(json);
    trove_search_options so;
    memset(&so, 0, sizeof so);
    so.struct_size = sizeof so;
    so.mode = TROVE_SEARCH_MODE_VECTOR;
    CHECK_STATUS(trove_search(engine, "kettle descale", TROVE_NUL_TERMINATED, &so, &results), TROVE_STATUS_OK);
    CHECK(trove_results_count(results) == 1 && trove_hit_embedded(trove_results_hit(results, 0)),
          "embedded, it is found by meaning too");
    trove_results_free(results);
    CHECK(!trove_hit_embedded(NULL), "NULL is not embedded");
    CHECK_STATUS(trove_embedding_resume(engine), TROVE_STATUS_OK);
    CHECK_STATUS(trove_embedding_pause(NULL), TROVE_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(trove_embedding_status_json(engine, NULL), TROVE_STATUS_INVALID_ARGUMENT);
    trove_engine_close(engine);
}

int main(void) {
    models = getenv("TROVE_MODELS");
    if (!models) {
        fprintf(stderr, "set TROVE_MODELS to the models folder (make setup)\n");
        return 2;
    }
    const char *t = getenv("TROVE_TEST_THREADS");
    threads = t ? (uint32_t)atoi(t) : 1;
    snprintf(root, sizeof root, "%s/trove-c-test-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(root)) {
        perror("mkdtemp");
        return 2;
    }
    snprintf(notes, sizeof notes, "%s/notes", root);
    mkdir(notes, 0700);
    for (size_t i = 0; i < NOTE_COUNT; i++) {
        char path[400];
        snprintf(path, sizeof path, "%s/%s", notes, NOTES[i][0]);
        write_file(path, NOTES[i][1]);
    }

    test_version_and_status_names();
    test_frees_accept_null();
    test_open_errors();

    char store[300];
    snprintf(store, sizeof store, "%s/store", root);
    trove_engine *engine = open_engine(store, models);
    test_index_search_remove(engine);
    test_host_text(engine);
    test_ask(engine);
    test_grounded_or_declined(engine);
    test_conversation(engine);
    test_cancel_from_another_thread(engine);
    test_threads(engine);
    test_watch(engine);
    test_stats(engine);
    test_models(engine);
    test_links(engine);
    test_explain(engine);
    trove_engine_close(engine);

    test_wrong_llm_and_other_embedder();
    test_multilingual_store();
    test_background_embedding();
    test_answer_model_options();

    remove_tree(root);
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
