/*
 * mongo_deadline_stream.c: a libmongoc stream that wraps the driver's
 * own connection and cuts each read's and write's wait to a deadline
 * (mongo_deadline_stream.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "store/mongo_deadline_stream.h"

/*
 * The driver's own initiator: exported by libmongoc (1.17 to 1.23 keep
 * it out of the public headers; later versions declare it). Its
 * user_data is the client.
 */
mongoc_stream_t *
mongoc_client_default_stream_initiator(const mongoc_uri_t *uri,
                                       const mongoc_host_list_t *host,
                                       void *user_data, bson_error_t *error);

/* libmongoc's connectTimeoutMS when the URI sets none. */
#define DRIVER_CONNECT_TIMEOUT_MS 10000

/* Not one of libmongoc's stream types ("BP"). */
#define DEADLINE_STREAM_TYPE 0x4250

struct deadline_stream {
    mongoc_stream_t vtable;                  /* first: libmongoc sees this */
    mongoc_stream_t *inner;                  /* owned */
    struct bp_mongo_deadline_source *source; /* borrowed */
    bool deadline_hit; /* the last call was refused for the deadline */
};

static struct deadline_stream *from_stream(mongoc_stream_t *stream)
{
    return (struct deadline_stream *)stream;
}

static int64_t now_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

/*
 * Cuts *timeout_msec, the driver's wait for a call (negative: no limit),
 * to the time left before the deadline. false, with the call to be
 * refused, when the deadline has passed.
 */
static bool bound_wait(struct deadline_stream *s, int32_t *timeout_msec)
{
    s->deadline_hit = false;
    int64_t deadline = *s->source->deadline_ms;
    if (deadline <= 0)
        return true;
    int64_t left = deadline - now_ms();
    if (left <= 0) {
        s->deadline_hit = true;
        s->source->refused = true;
        errno = ETIMEDOUT;
        return false;
    }
    if (*timeout_msec < 0 || left < *timeout_msec)
        *timeout_msec = left > INT32_MAX ? INT32_MAX : (int32_t)left;
    return true;
}

static ssize_t deadline_writev(mongoc_stream_t *stream, mongoc_iovec_t *iov,
                               size_t iovcnt, int32_t timeout_msec)
{
    struct deadline_stream *s = from_stream(stream);
    if (!bound_wait(s, &timeout_msec))
        return -1;
    return mongoc_stream_writev(s->inner, iov, iovcnt, timeout_msec);
}

static ssize_t deadline_readv(mongoc_stream_t *stream, mongoc_iovec_t *iov,
                              size_t iovcnt, size_t min_bytes,
                              int32_t timeout_msec)
{
    struct deadline_stream *s = from_stream(stream);
    if (!bound_wait(s, &timeout_msec))
        return -1;
    return mongoc_stream_readv(s->inner, iov, iovcnt, min_bytes, timeout_msec);
}

static void deadline_destroy(mongoc_stream_t *stream)
{
    struct deadline_stream *s = from_stream(stream);
    mongoc_stream_destroy(s->inner);
    free(s);
}

static void deadline_failed(mongoc_stream_t *stream)
{
    struct deadline_stream *s = from_stream(stream);
    mongoc_stream_failed(s->inner);
    free(s);
}

static int deadline_close(mongoc_stream_t *stream)
{
    return mongoc_stream_close(from_stream(stream)->inner);
}

static int deadline_flush(mongoc_stream_t *stream)
{
    return mongoc_stream_flush(from_stream(stream)->inner);
}

static int deadline_setsockopt(mongoc_stream_t *stream, int level, int optname,
                               void *optval, mongoc_socklen_t optlen)
{
    return mongoc_stream_setsockopt(from_stream(stream)->inner, level, optname,
                                    optval, optlen);
}

static mongoc_stream_t *deadline_base(mongoc_stream_t *stream)
{
    return from_stream(stream)->inner;
}

static bool deadline_check_closed(mongoc_stream_t *stream)
{
    return mongoc_stream_check_closed(from_stream(stream)->inner);
}

static bool deadline_timed_out(mongoc_stream_t *stream)
{
    struct deadline_stream *s = from_stream(stream);
    return s->deadline_hit || mongoc_stream_timed_out(s->inner);
}

static bool deadline_should_retry(mongoc_stream_t *stream)
{
    struct deadline_stream *s = from_stream(stream);
    return !s->deadline_hit && mongoc_stream_should_retry(s->inner);
}

/* Polls the wrapped streams in place of the wrappers. */
static ssize_t deadline_poll(mongoc_stream_poll_t *streams, size_t nstreams,
                             int32_t timeout)
{
    mongoc_stream_poll_t *inner = calloc(nstreams, sizeof(*inner));
    if (inner == NULL) {
        errno = ENOMEM;
        return -1;
    }
    for (size_t i = 0; i < nstreams; i++) {
        inner[i] = streams[i];
        if (streams[i].stream->type == DEADLINE_STREAM_TYPE)
            inner[i].stream = from_stream(streams[i].stream)->inner;
    }
    ssize_t ready = mongoc_stream_poll(inner, nstreams, timeout);
    for (size_t i = 0; i < nstreams; i++)
        streams[i].revents = inner[i].revents;
    free(inner);
    return ready;
}

/* What libmongoc calls on a deadline stream. */
static const mongoc_stream_t deadline_vtable = {
    .type = DEADLINE_STREAM_TYPE,
    .destroy = deadline_destroy,
    .failed = deadline_failed,
    .close = deadline_close,
    .flush = deadline_flush,
    .writev = deadline_writev,
    .readv = deadline_readv,
    .setsockopt = deadline_setsockopt,
    .get_base_stream = deadline_base,
    .check_closed = deadline_check_closed,
    .poll = deadline_poll,
    .timed_out = deadline_timed_out,
    .should_retry = deadline_should_retry,
};

static mongoc_stream_t *open_deadline_stream(const mongoc_uri_t *uri,
                                             const mongoc_host_list_t *host,
                                             void *user_data,
                                             bson_error_t *error)
{
    struct bp_mongo_deadline_source *source = user_data;
    /* Connecting (TCP, then TLS) waits connectTimeoutMS at most: cut to
     * the time left, in a copy of the URI the driver reads it from. */
    mongoc_uri_t *bounded = NULL;
    int64_t deadline = *source->deadline_ms;
    if (deadline > 0) {
        int64_t left = deadline - now_ms();
        if (left <= 0) {
            source->refused = true;
            bson_set_error(error, MONGOC_ERROR_STREAM,
                           MONGOC_ERROR_STREAM_CONNECT,
                           "no time was left to connect before the deadline");
            return NULL;
        }
        int32_t configured = mongoc_uri_get_option_as_int32(
            uri, MONGOC_URI_CONNECTTIMEOUTMS, DRIVER_CONNECT_TIMEOUT_MS);
        if (left < configured) {
            bounded = mongoc_uri_copy(uri);
            if (bounded != NULL)
                mongoc_uri_set_option_as_int32(
                    bounded, MONGOC_URI_CONNECTTIMEOUTMS, (int32_t)left);
        }
    }
    mongoc_stream_t *inner = mongoc_client_default_stream_initiator(
        bounded != NULL ? bounded : uri, host, source->client, error);
    mongoc_uri_destroy(bounded);
    if (inner == NULL)
        return NULL;
    struct deadline_stream *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        mongoc_stream_destroy(inner);
        bson_set_error(error, MONGOC_ERROR_STREAM, MONGOC_ERROR_STREAM_SOCKET,
                       "out of memory");
        return NULL;
    }
    s->vtable = deadline_vtable;
    s->inner = inner;
    s->source = source;
    return &s->vtable;
}

void bp_mongo_deadline_streams(struct bp_mongo_deadline_source *source,
                               mongoc_client_t *client,
                               const int64_t *deadline_ms)
{
    source->client = client;
    source->deadline_ms = deadline_ms;
    source->refused = false;
    mongoc_client_set_stream_initiator(client, open_deadline_stream, source);
}
