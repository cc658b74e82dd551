/*
 * mongo_deadline_stream.h: libmongoc connections that keep to a
 * deadline. Every read and write on a connection of the client waits
 * at most until the deadline (and never longer than the driver asks),
 * so that a server that stops answering cannot hold an AWS Lambda
 * invocation past its end.
 */
#ifndef BP_MONGO_DEADLINE_STREAM_H
#define BP_MONGO_DEADLINE_STREAM_H

#include <stdbool.h>
#include <stdint.h>

#include <mongoc/mongoc.h>

/* What a client's connections are opened with (filled by
 * bp_mongo_deadline_streams). */
struct bp_mongo_deadline_source {
    mongoc_client_t *client;
    const int64_t *deadline_ms;
    /* Set when a read or write was refused for the deadline; the owner
     * clears it. */
    bool refused;
};

/*
 * Makes every connection client opens from now on wrap the driver's own
 * (TCP, TLS when the URI asks for it) and bound each read and write by
 * *deadline_ms (epoch milliseconds, read when the read or write starts;
 * 0: no bound). source and deadline_ms are the caller's and must
 * outlive client.
 */
void bp_mongo_deadline_streams(struct bp_mongo_deadline_source *source,
                               mongoc_client_t *client,
                               const int64_t *deadline_ms);

#endif
