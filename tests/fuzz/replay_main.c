/* A main() for fuzz targets built without libFuzzer (gcc + sanitizers): runs
 * LLVMFuzzerTestOneInput once on every file named on the command line, and on
 * every regular file inside every directory named, so `make test` replays
 * the kept regression and seed inputs. Exits non-zero if an argument cannot
 * be read; a crashing input aborts through the sanitizers as under libFuzzer. */
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(const char *path, size_t *ran)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        return -1;
    }
    long size = -1;
    if (fseek(f, 0, SEEK_END) == 0)
        size = ftell(f);
    if (size < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fprintf(stderr, "replay: %s: cannot size the file\n", path);
        fclose(f);
        return -1;
    }
    /* An exactly sized buffer, as libFuzzer gives, so that AddressSanitizer
     * sees any read past the end of the input. */
    size_t len = (size_t)size;
    uint8_t *data = malloc(len ? len : 1);
    bool read_ok = data && fread(data, 1, len, f) == len;
    fclose(f);
    if (!read_ok) {
        fprintf(stderr, "replay: %s: read error\n", path);
        free(data);
        return -1;
    }
    LLVMFuzzerTestOneInput(data, len);
    free(data);
    (*ran)++;
    return 0;
}

static int replay_dir(const char *dir_path, size_t *ran)
{
    DIR *dir = opendir(dir_path);
    if (!dir) {
        fprintf(stderr, "replay: %s: %s\n", dir_path, strerror(errno));
        return -1;
    }
    int rc = 0;
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL) {
        if (entry->d_name[0] == '.')
            continue; /* ".", ".." and hidden files such as .gitkeep */
        char path[4096];
        int n = snprintf(path, sizeof(path), "%s/%s", dir_path, entry->d_name);
        if (n < 0 || (size_t)n >= sizeof(path)) {
            fprintf(stderr, "replay: path too long in %s\n", dir_path);
            rc = -1;
            continue;
        }
        struct stat st;
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && replay_file(path, ran) != 0)
            rc = -1;
    }
    closedir(dir);
    return rc;
}

int main(int argc, char **argv)
{
    size_t ran = 0;
    int rc = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
            rc = 1;
            continue;
        }
        int r = S_ISDIR(st.st_mode) ? replay_dir(argv[i], &ran) : replay_file(argv[i], &ran);
        if (r != 0)
            rc = 1;
    }
    printf("replay: ran %zu input(s)\n", ran);
    return rc;
}
