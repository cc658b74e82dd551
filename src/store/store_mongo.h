/*
 * store_mongo.h: the constructor of the MongoDB backend of the store
 * interface (store_mongo.c), for bp_store_open.
 */
#ifndef BP_STORE_MONGO_H
#define BP_STORE_MONGO_H

#include <stdint.h>

#include "rc.h"
#include "store/store.h"

/*
 * Opens the MongoDB backend for uri (any URI mongo-c-driver accepts:
 * mongodb:// or mongodb+srv://, replica sets, TLS, auth). The database
 * is the URI's path, "bandpics" when it has none. timeout_ms bounds
 * server selection (and connecting, unless the URI says otherwise), so
 * no call waits longer for a database that does not answer. The indexes
 * are created (idempotently) before it returns. deadline_ms (epoch ms;
 * 0: none) bounds every call from the start, as bp_store_set_deadline
 * would.
 *
 * Must run in the process that uses the handle (a worker opens its own
 * after fork), after mongoc_init. On BP_OK *out is the caller's, to
 * close with bp_store_close. BP_EINVAL for a URI the driver refuses,
 * BP_EUNAVAILABLE when no server answers in time.
 */
enum bp_rc bp_store_mongo_open(const char *uri, long timeout_ms,
                               int64_t deadline_ms, struct bp_store **out,
                               struct bp_error *err);

#endif
