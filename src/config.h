/*
 * config.h: the service configuration. It is read once at start-up (and
 * again by the pool master on SIGHUP) from a `key = value` file and from
 * BANDPICS_<KEY> environment variables, validated, and then only read.
 */
#ifndef BP_CONFIG_H
#define BP_CONFIG_H

#include <stdbool.h>

#include "rc.h"

#define BP_CONFIG_DEFAULT_PATH "/etc/bandpics/bandpics.conf"

struct bp_config {
    char *listen; /* "unix:/path" or "host:port"; pool only */
    long workers; /* worker processes in the pool */
    /* Where the pool's upload workers listen ("" for none: every request
     * goes to the workers on listen), and how many there are. The web
     * server sends requests that carry files there, so that reads never
     * wait behind image processing. */
    char *upload_listen;
    long upload_workers;
    /* How much lower the upload workers' CPU priority is (nice), so that
     * reads preempt image processing on busy cores. */
    long upload_nice;
    long max_requests;           /* requests before a worker is replaced */
    long graceful_timeout_s;     /* wait for busy workers before SIGKILL */
    long io_timeout_s;           /* a silent web server connection is dropped */
    char *data_dir;              /* local data (database, files) */
    char *database_url;          /* sqlite://PATH or mongodb://... */
    long max_body_bytes;         /* largest request body accepted */
    long min_free_bytes;         /* uploads refused while the data disk has
                                    less free */
    long max_json_bytes;         /* largest JSON request body accepted */
    long max_files;              /* files in one upload request */
    long max_field_bytes;        /* one text field of a form */
    long max_pixels;             /* width x height of an image */
    long image_memory_bytes;     /* ImageMagick's memory per worker */
    long max_decode_bytes;       /* non-JPEG images decoding to more are
                                    refused from their header */
    long decode_in_child;        /* 1: images are decoded in a child */
    long lambda_allow_local;     /* 1: SQLite and local files on Lambda
                                    (tests) */
    long decode_memory_bytes;    /* address space a decoding child may add */
    long decode_timeout_s;       /* CPU and wall-clock time of that child */
    long max_name_length;        /* group name, in characters */
    long max_description_length; /* descriptions, in characters */
    long list_default_limit;     /* page size when ?limit= is absent */
    long list_max_limit;         /* largest ?limit= accepted */
    long sqlite_busy_timeout_ms; /* wait on a locked SQLite database */
    long mongo_timeout_ms;       /* MongoDB server selection timeout */
    char *blob_url;              /* "" (<data_dir>/files), file://, s3:// */
    char *s3_endpoint;           /* "" for AWS; http(s)://host[:port] */
    char *s3_region;             /* signing region */
    char *s3_addressing;         /* "auto", "path" or "virtual" */
    char *s3_access_key_id;      /* "": all three from AWS_ACCESS_KEY_ID, */
    char *s3_secret_access_key;  /* AWS_SECRET_ACCESS_KEY and */
    char *s3_session_token;      /* AWS_SESSION_TOKEN */
    long s3_timeout_ms;          /* one request to the object store */
    char *public_base_url;       /* CDN in front of the bucket, or "" */
    long presign_get_expires_s;  /* life of a file redirect URL */
    long upload_expires_s;       /* life of an upload URL and its record */
    long expire_interval_s;      /* workers end expired uploads; 0: never */
    char *api_base_url;          /* this API's public URL, or "" (Host) */
    char *base_path;             /* "/prefix" the API is mounted under, or "" */
    char *upload_secret;         /* signs local upload URLs; "" = generated */
    char *auth_mode;             /* "writes", "required" or "off" */
    char *auth_issuer;           /* OpenID Connect issuer URL, or "" */
    char *auth_audience;         /* app client ids (a list), or "" */
    char *auth_token_use;        /* "access", "id" or both (a list) */
    long auth_leeway_s;          /* clock skew allowed on exp, nbf, iat */
    char *auth_roles_claim;      /* the claim that lists a token's groups */
    char *auth_jwks_url;         /* "": <auth_issuer>/.well-known/jwks.json */
    char *auth_jwks_file;        /* a local JWKS instead of fetching one */
    long auth_jwks_ttl_s;        /* fetch the keys again after this long */
    long auth_jwks_refetch_s;    /* least time between fetches for an
                                    unknown kid */
    char *auth_admin_roles;      /* groups that make a token admin (list) */
    char *auth_contributor_roles; /* ... or contributor (list) */
    char *location_default;       /* a new group's location: public, hidden */
    char *cors_origins;           /* origins browsers may call from, or "*" */
    long cors_max_age_s;          /* how long a preflight answer holds */
    char *log_file;               /* "" for stderr */
    char *log_level;              /* error, warn, info or debug */
};

/* Where a configuration comes from; later sources win. */
struct bp_config_source {
    const char *path;          /* the key = value file; NULL for none */
    bool path_required;        /* a missing file is an error */
    char *const *env;          /* NULL-terminated environment, or NULL */
    const char *listen;        /* command-line override, or NULL */
    long workers;              /* command-line override, or 0 */
    const char *upload_listen; /* command-line override, or NULL */
};

/*
 * Fills cfg with the defaults, then the file, then the BANDPICS_<KEY>
 * variables of the environment, then the command-line overrides of src.
 * Returns BP_EINVAL with a message naming the key (and line) on any
 * invalid setting; cfg then holds nothing to free. On BP_OK the caller
 * frees cfg with bp_config_free.
 */
enum bp_rc bp_config_load(struct bp_config *cfg,
                          const struct bp_config_source *src,
                          struct bp_error *err);

/*
 * Writes url into out (of len bytes) with any "user:password@" part
 * replaced by "***@", for logs.
 */
void bp_config_redact_url(const char *url, char *out, size_t len);

/*
 * Returns true when cfg->s3_addressing asks for path-style S3 URLs
 * (https://endpoint/bucket/key): "path", or "auto" with a custom
 * endpoint.
 */
bool bp_config_s3_path_style(const struct bp_config *cfg);

/*
 * Returns true when list (items separated by commas and/or spaces)
 * holds item exactly.
 */
bool bp_config_list_has(const char *list, const char *item);

/* Frees the strings that cfg owns; cfg may be NULL. */
void bp_config_free(struct bp_config *cfg);

/*
 * Parses a byte size ("1048576", "512k", "50M", "1G") into *out.
 * Returns BP_EINVAL for anything else or for a negative value.
 */
enum bp_rc bp_config_parse_size(const char *text, long *out);

/*
 * Returns true when the len bytes of base may start the URLs the API
 * writes (a base_path, or a CGI's SCRIPT_NAME): empty, or '/' then
 * letters, digits and "-._~/" with no empty, "." or ".." segment, not
 * ending in '/', at most BP_BASE_PATH_MAX bytes.
 */
bool bp_config_base_path_valid(const char *base, size_t len);

/* The longest mount point (base_path or SCRIPT_NAME) the API accepts. */
#define BP_BASE_PATH_MAX 256

#endif
