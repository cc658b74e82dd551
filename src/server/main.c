/*
 * main.c: the bandpics-fcgi program. It reads the command line and the
 * configuration and picks one of three ways to run: the worker pool on
 * its own socket (--listen/--pool), one worker on a listening socket
 * passed as fd 0 (spawn-fcgi, Apache mod_fcgid), or plain CGI; or runs
 * one administrative task (--check, --gc, the API key tasks).
 */
#include <getopt.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>
#include <fcgiapp.h>
#include <mongoc/mongoc.h>

#include "api/app.h"
#include "api/upload.h"
#include "api/gc.h"
#include "api/key_admin.h"
#include "blob/blob.h"
#include "config.h"
#include "log.h"
#include "server/lambda.h"
#include "server/listen.h"
#include "server/pool.h"
#include "server/transport.h"
#include "server/worker.h"
#include "store/store.h"

extern char **environ;

/* The longest --grace accepted: ten years. */
#define MAX_GRACE_S (10L * 366 * 24 * 3600)

static void usage(FILE *out)
{
    fprintf(out,
            "usage: bandpics-fcgi [--config PATH] [--pool] [--listen ADDR] "
            "[--workers N]\n"
            "\n"
            "  --config PATH  configuration file (default %s)\n"
            "  --pool         run the worker pool on the configured address\n"
            "  --listen ADDR  run the pool on unix:/path or host:port\n"
            "  --workers N    number of workers in the pool\n"
            "  --upload-listen ADDR\n"
            "                 run the pool's upload workers (upload_workers) "
            "on this address\n"
            "  --check        validate the configuration and the store, then "
            "exit\n"
            "  --gc           sweep orphan files and records, expired "
            "uploads, then exit\n"
            "  --dry-run      with --gc: report, change nothing\n"
            "  --grace SECS   with --gc: leave objects younger than this "
            "(default 3600)\n"
            "  --key-create NAME --role ROLE [--expires-days N]\n"
            "                 make an API key (reader, contributor or admin) "
            "and print it once\n"
            "  --key-list     list API keys (never their secrets)\n"
            "  --key-revoke ID\n"
            "                 revoke an API key\n"
            "\n"
            "Without --pool or --listen, serve FastCGI on a listening socket "
            "passed as\nfd 0 (spawn-fcgi, mod_fcgid), or one CGI request.\n"
            "Without --config: $BANDPICS_CONFIG, else bandpics.conf beside "
            "the program,\nelse the default.\n",
            BP_CONFIG_DEFAULT_PATH);
}

/*
 * Returns in path the configuration file to read when --config is not
 * given: BANDPICS_CONFIG, else bandpics.conf beside the program (shared
 * hosting, where a CGI program takes no options), else the system one.
 * *required says whether a missing file is an error.
 */
static void default_config(char *path, size_t len, bool *required)
{
    const char *env = getenv("BANDPICS_CONFIG");
    *required = env != NULL && env[0] != '\0';
    if (*required) {
        snprintf(path, len, "%s", env);
        return;
    }
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash != NULL) {
            *slash = '\0';
            int w = snprintf(path, len, "%s/bandpics.conf", exe);
            if (w > 0 && (size_t)w < len && access(path, F_OK) == 0)
                return;
        }
    }
    snprintf(path, len, "%s", BP_CONFIG_DEFAULT_PATH);
}

/* Opens and closes the store once, so that a bad setting stops start-up. */
static int preflight(const struct bp_config *cfg)
{
    struct bp_error err = {{0}};
    enum bp_rc rc = bp_store_check(cfg, &err);
    if (rc != BP_OK && rc != BP_EUNAVAILABLE) {
        fprintf(stderr, "bandpics: %s\n", err.detail);
        return 1;
    }
    if (rc == BP_EUNAVAILABLE)
        fprintf(stderr, "bandpics: warning: %s\n", err.detail);
    return 0;
}

static int run_pool(const struct bp_config_source *src, struct bp_config *cfg)
{
    if (preflight(cfg) != 0)
        return 1;
    if (strcmp(cfg->upload_listen, cfg->listen) == 0) {
        fprintf(stderr, "bandpics: upload_listen must differ from listen\n");
        return 1;
    }
    int fd, upload_fd = -1;
    struct bp_error err = {{0}};
    if (bp_listen_open(cfg->listen, &fd, &err) != BP_OK) {
        fprintf(stderr, "bandpics: %s\n", err.detail);
        return 1;
    }
    char *address = strdup(cfg->listen);
    char *upload_address = NULL;
    if (cfg->upload_listen[0] != '\0') {
        if (bp_listen_open(cfg->upload_listen, &upload_fd, &err) != BP_OK) {
            fprintf(stderr, "bandpics: %s\n", err.detail);
            close(fd);
            if (address != NULL)
                bp_listen_cleanup(address);
            free(address);
            return 1;
        }
        upload_address = strdup(cfg->upload_listen);
    }
    int status = bp_pool_run(src, cfg, fd, upload_fd);
    close(fd);
    if (upload_fd >= 0)
        close(upload_fd);
    if (address != NULL)
        bp_listen_cleanup(address);
    if (upload_address != NULL)
        bp_listen_cleanup(upload_address);
    free(address);
    free(upload_address);
    return status;
}

/* Runs one orphan sweep and prints its summary. */
static int run_gc(const struct bp_config *cfg, bool dry_run, long grace_s)
{
    struct bp_ctx ctx;
    struct bp_error err = {{0}};
    if (bp_app_open(&ctx, cfg, &err) != BP_OK) {
        fprintf(stderr, "bandpics: %s\n", err.detail);
        return 1;
    }
    char store_url[512];
    bp_config_redact_url(cfg->database_url, store_url, sizeof(store_url));
    printf("bandpics: gc%s: files in %s%s, records in %s\n",
           dry_run ? " (dry run)" : "",
           cfg->blob_url[0] != '\0' ? cfg->blob_url : cfg->data_dir,
           cfg->blob_url[0] != '\0' ? "" : "/files", store_url);
    struct bp_gc_report r;
    enum bp_rc rc =
        bp_gc_run(&ctx, dry_run, (int64_t)grace_s * 1000, stdout, &r, &err);
    bp_app_close(&ctx);
    if (rc != BP_OK) {
        fprintf(stderr, "bandpics: gc stopped: %s\n", err.detail);
        return 1;
    }
    printf("bandpics: gc%s: %zu objects, %zu orphan, %zu stale, %zu unknown; "
           "%zu images, %zu repaired, %zu dropped; %zu uploads expired; "
           "%zu temporary files left behind removed; %zu failures\n",
           dry_run ? " (dry run)" : "", r.objects, r.orphan_objects,
           r.stale_objects, r.unknown_objects, r.images, r.images_repaired,
           r.images_dropped, r.uploads_expired, r.temp_files, r.failures);
    return r.failures == 0 ? 0 : 1;
}

/*
 * Returns 1 (after saying why) when the process runs as root in a data
 * directory another account owns: the files a command made there would be
 * root's, and the service, running as that account, could not open them.
 */
static int refuse_foreign_data_dir(const struct bp_config *cfg)
{
    struct stat st;
    if (geteuid() != 0 || stat(cfg->data_dir, &st) != 0 || st.st_uid == 0)
        return 0;
    const struct passwd *owner = getpwuid(st.st_uid);
    char name[64];
    if (owner != NULL)
        snprintf(name, sizeof(name), "%s", owner->pw_name);
    else
        snprintf(name, sizeof(name), "%u", (unsigned)st.st_uid);
    fprintf(stderr,
            "bandpics: %s belongs to %s: run this as that account "
            "(runuser -u %s -- bandpics-fcgi ...), so that what it makes "
            "there stays readable by the service\n",
            cfg->data_dir, name, name);
    return 1;
}

/* Whether cfg makes HTTP requests with libcurl: S3, an issuer's keys. */
static bool uses_curl(const struct bp_config *cfg)
{
    return bp_blob_url_is_s3(cfg->blob_url) || cfg->auth_issuer[0] != '\0' ||
           cfg->auth_jwks_url[0] != '\0';
}

static int run_cgi(const struct bp_config *cfg)
{
    if (isatty(STDIN_FILENO) && getenv("REQUEST_METHOD") == NULL) {
        usage(stderr);
        return 2;
    }
    struct bp_ctx ctx;
    struct bp_error err = {{0}};
    if (bp_app_open(&ctx, cfg, &err) != BP_OK) {
        /* The web server shows whatever comes out: make it a JSON 503
         * (the reason, which may name paths, goes to the log only). */
        bp_log_error("start-up failed: %s", err.detail);
        fputs("Status: 503 Service Unavailable\r\n"
              "Content-Type: application/json\r\n\r\n"
              "{\"detail\":\"The service cannot start: its log says "
              "why\"}\n",
              stdout);
        return 1;
    }
    int status = bp_transport_cgi_serve(&ctx, environ);
    bp_app_close(&ctx);
    return status;
}

int main(int argc, char **argv)
{
    static const struct option options[] = {
        {"config", required_argument, NULL, 'c'},
        {"pool", no_argument, NULL, 'p'},
        {"lambda", no_argument, NULL, 'A'},
        {"listen", required_argument, NULL, 'l'},
        {"workers", required_argument, NULL, 'w'},
        {"upload-listen", required_argument, NULL, 'u'},
        {"check", no_argument, NULL, 'k'},
        {"gc", no_argument, NULL, 'g'},
        {"dry-run", no_argument, NULL, 'n'},
        {"grace", required_argument, NULL, 'G'},
        {"key-create", required_argument, NULL, 'K'},
        {"role", required_argument, NULL, 'R'},
        {"expires-days", required_argument, NULL, 'E'},
        {"key-list", no_argument, NULL, 'L'},
        {"key-revoke", required_argument, NULL, 'X'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    char config_path[4096];
    bool config_required = false;
    default_config(config_path, sizeof(config_path), &config_required);
    struct bp_config_source src = {
        .path = config_path, .path_required = config_required, .env = environ};
    int pool = 0, check = 0, gc = 0, dry_run = 0, key_list = 0, lambda = 0, opt;
    long grace_s = 3600, expires_days = 0;
    const char *key_create = NULL, *role = NULL, *key_revoke = NULL;
    bool has_expires = false;
    while ((opt = getopt_long(argc, argv, "c:pl:w:kgnG:hV", options, NULL)) !=
           -1) {
        switch (opt) {
        case 'c':
            src.path = optarg;
            src.path_required = true;
            break;
        case 'p':
            pool = 1;
            break;
        case 'A':
            lambda = 1;
            break;
        case 'l':
            src.listen = optarg;
            pool = 1;
            break;
        case 'u':
            src.upload_listen = optarg;
            break;
        case 'w': {
            char *end;
            src.workers = strtol(optarg, &end, 10);
            if (*end != '\0' || src.workers <= 0) {
                fprintf(stderr, "bandpics: --workers needs a positive "
                                "number\n");
                return 2;
            }
            break;
        }
        case 'k':
            check = 1;
            break;
        case 'g':
            gc = 1;
            break;
        case 'n':
            dry_run = 1;
            break;
        case 'G': {
            char *end;
            grace_s = strtol(optarg, &end, 10);
            if (end == optarg || *end != '\0' || grace_s < 0 ||
                grace_s > MAX_GRACE_S) {
                fprintf(stderr,
                        "bandpics: --grace needs seconds (0 to "
                        "%ld)\n",
                        MAX_GRACE_S);
                return 2;
            }
            break;
        }
        case 'K':
            key_create = optarg;
            break;
        case 'R':
            role = optarg;
            break;
        case 'E': {
            char *end;
            expires_days = strtol(optarg, &end, 10);
            has_expires = true;
            if (end == optarg || *end != '\0' || expires_days < 0) {
                fprintf(stderr, "bandpics: --expires-days needs a number of "
                                "days (0: never)\n");
                return 2;
            }
            break;
        }
        case 'L':
            key_list = 1;
            break;
        case 'X':
            key_revoke = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            printf("bandpics-fcgi %s\n", PACKAGE_VERSION);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    int key_tasks = (key_create != NULL) + key_list + (key_revoke != NULL);
    if (optind != argc || (dry_run && !gc) || key_tasks > 1 ||
        ((role != NULL || has_expires) && key_create == NULL) ||
        (key_create != NULL && role == NULL)) {
        usage(stderr);
        return 2;
    }
    /* On AWS Lambda (its Runtime API named in the environment). */
    const char *runtime_api = getenv("AWS_LAMBDA_RUNTIME_API");
    if (runtime_api != NULL && runtime_api[0] != '\0' && !check && !gc &&
        key_create == NULL && !key_list && key_revoke == NULL)
        lambda = 1;
    struct bp_config cfg;
    struct bp_error err = {{0}};
    if (bp_config_load(&cfg, &src, &err) != BP_OK) {
        fprintf(stderr, "bandpics: invalid configuration: %s\n", err.detail);
        if (lambda && runtime_api != NULL && runtime_api[0] != '\0' &&
            curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK) {
            char message[sizeof(err.detail) + 32];
            snprintf(message, sizeof(message), "invalid configuration: %s",
                     err.detail);
            bp_lambda_report_init_error(runtime_api, message);
            curl_global_cleanup();
        }
        return 1;
    }
    /* The MongoDB driver's and libcurl's process-wide state, before any
     * fork; workers inherit it and create their own clients and handles.
     * A pool may be reloaded into a configuration that needs them; other
     * modes set up only what their configuration uses (a CGI process
     * reading from SQLite neither). */
    bool with_mongodb = pool || bp_store_url_is_mongodb(cfg.database_url);
    bool with_curl = pool || lambda || uses_curl(&cfg);
    if (with_mongodb)
        mongoc_init();
    if (with_curl && curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "bandpics: libcurl failed to initialize\n");
        if (with_mongodb)
            mongoc_cleanup();
        bp_config_free(&cfg);
        return 1;
    }
    if (bp_log_setup(&cfg, &err) != BP_OK) {
        fprintf(stderr, "bandpics: %s\n", err.detail);
        if (with_curl)
            curl_global_cleanup();
        if (with_mongodb)
            mongoc_cleanup();
        bp_config_free(&cfg);
        return 1;
    }
    if (strcmp(cfg.auth_mode, "off") == 0)
        bp_log_warn("auth_mode = off: anyone who can reach the API may "
                    "change or delete everything");
    int status;
    struct bp_error task_err = {{0}};
    if ((key_tasks == 1 || check || gc) && refuse_foreign_data_dir(&cfg)) {
        status = 1;
    } else if (key_tasks == 1) {
        enum bp_rc rc =
            key_create != NULL
                ? bp_key_admin_create(&cfg, key_create, role, expires_days,
                                      stdout, stderr, &task_err)
            : key_list
                ? bp_key_admin_list(&cfg, stdout, &task_err)
                : bp_key_admin_revoke(&cfg, key_revoke, stdout, &task_err);
        if (rc != BP_OK)
            fprintf(stderr, "bandpics: %s\n",
                    task_err.detail[0] ? task_err.detail : bp_rc_name(rc));
        status = rc == BP_OK ? 0 : 1;
    } else if (check) {
        status = preflight(&cfg);
        /* What a worker sets up (data directory included) must work. */
        struct bp_ctx probe;
        if (status == 0 && bp_app_open(&probe, &cfg, &task_err) != BP_OK) {
            fprintf(stderr, "bandpics: a worker could not start: %s\n",
                    task_err.detail);
            status = 1;
        } else if (status == 0) {
            /* Uploads would be refused: say so (the service still runs). */
            struct bp_error low = {{0}};
            if (bp_upload_check_free_space(probe.tmp_dir, cfg.min_free_bytes,
                                           &low) != BP_OK)
                fprintf(stderr,
                        "bandpics: warning: %s: uploads are refused "
                        "(507) until there is room\n",
                        low.detail);
            bp_app_close(&probe);
        }
        char store_url[512];
        bp_config_redact_url(cfg.database_url, store_url, sizeof(store_url));
        if (status == 0)
            printf("bandpics: configuration ok (store %s)\n", store_url);
    } else if (gc) {
        status = run_gc(&cfg, dry_run, grace_s);
    } else if (lambda) {
        if (runtime_api == NULL || runtime_api[0] == '\0') {
            fprintf(stderr, "bandpics: --lambda needs AWS_LAMBDA_RUNTIME_API "
                            "(host:port of the Runtime API)\n");
            status = 2;
        } else {
            status = bp_lambda_run(&cfg, runtime_api);
        }
    } else if (pool) {
        status = run_pool(&src, &cfg);
    } else if (!FCGX_IsCGI()) {
        status = bp_worker_run(&cfg, STDIN_FILENO, false);
    } else {
        status = run_cgi(&cfg);
    }
    bp_config_free(&cfg);
    if (with_curl)
        curl_global_cleanup();
    if (with_mongodb)
        mongoc_cleanup();
    return status;
}
