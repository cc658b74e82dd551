/*
 * test_store.c: the store contract. Every backend must pass the same
 * suite. Built plainly it runs against SQLite in a temporary directory;
 * built with -DBP_CONTRACT_MONGO (tests/test_store_mongo) it runs
 * against the MongoDB server that BANDPICS_TEST_MONGODB_URI names, on
 * that URI's database, which it empties first; without the variable that
 * binary reports a skip. SQLite alone also checks its schema migrations
 * on database files laid out by hand as older versions left them.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#ifdef BP_CONTRACT_MONGO
#include <mongoc/mongoc.h>
#else
#include <sys/stat.h>

#include <sqlite3.h>
#endif

#include "config.h"
#include "model/ids.h"
#include "store/store.h"

struct fixture {
    char dir[64];
    struct bp_config cfg;
    struct bp_store *store;
};

#ifndef BP_CONTRACT_MONGO
/* A temporary directory and a configuration with its data dir there. */
static int setup_sqlite_config(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    snprintf(f->dir, sizeof(f->dir), "/tmp/bp-test-store-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    char data_dir[96];
    snprintf(data_dir, sizeof(data_dir), "BANDPICS_DATA_DIR=%s/data", f->dir);
    char *env[] = {data_dir, NULL};
    struct bp_config_source src = {.env = env};
    struct bp_error err = {{0}};
    assert_int_equal(bp_config_load(&f->cfg, &src, &err), BP_OK);
    *state = f;
    return 0;
}

static int setup_sqlite(void **state)
{
    setup_sqlite_config(state);
    struct fixture *f = *state;
    struct bp_error err = {{0}};
    assert_int_equal(bp_store_open(&f->cfg, &f->store, &err), BP_OK);
    return 0;
}

#endif

#ifdef BP_CONTRACT_MONGO
/* Drops the collections of the test database, so each test starts empty. */
static void empty_database(const char *uri_text)
{
    bson_error_t error;
    mongoc_uri_t *uri = mongoc_uri_new_with_error(uri_text, &error);
    assert_non_null(uri);
    mongoc_client_t *client = mongoc_client_new_from_uri(uri);
    assert_non_null(client);
    const char *name = mongoc_uri_get_database(uri);
    mongoc_database_t *db =
        mongoc_client_get_database(client, name ? name : "bandpics");
    static const char *const collections[] = {"images", "image_groups",
                                              "api_keys"};
    for (size_t i = 0; i < 3; i++) {
        mongoc_collection_t *c =
            mongoc_database_get_collection(db, collections[i]);
        mongoc_collection_drop(c, NULL); /* absent is fine */
        mongoc_collection_destroy(c);
    }
    mongoc_database_destroy(db);
    mongoc_client_destroy(client);
    mongoc_uri_destroy(uri);
}

static int setup_mongo(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    snprintf(f->dir, sizeof(f->dir), "/tmp/bp-test-store-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    const char *uri = getenv("BANDPICS_TEST_MONGODB_URI");
    empty_database(uri);
    char url[1024];
    snprintf(url, sizeof(url), "BANDPICS_DATABASE_URL=%s", uri);
    char *env[] = {url, NULL};
    struct bp_config_source src = {.env = env};
    struct bp_error err = {{0}};
    assert_int_equal(bp_config_load(&f->cfg, &src, &err), BP_OK);
    assert_int_equal(bp_store_open(&f->cfg, &f->store, &err), BP_OK);
    *state = f;
    return 0;
}
#endif

static int teardown(void **state)
{
    struct fixture *f = *state;
    bp_store_close(f->store);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    bp_config_free(&f->cfg);
    free(f);
    return 0;
}

/* Inserts a group called name created at the given time; returns its id. */
static void insert(struct bp_store *store, const char *name, const char *event,
                   int64_t created, char id[BP_ID_LEN + 1])
{
    char copy[64];
    snprintf(copy, sizeof(copy), "%s", name);
    struct bp_group g = {0};
    bp_id_new(g.id);
    g.name = copy;
    if (event != NULL)
        memcpy(g.event, event, BP_ID_LEN + 1);
    g.created_at = created;
    g.updated_at = created;
    struct bp_error err = {{0}};
    assert_int_equal(bp_store_group_insert(store, &g, &err), BP_OK);
    memcpy(id, g.id, BP_ID_LEN + 1);
}

static void test_bp_store_group_insert_then_get(void **state)
{
    struct fixture *f = *state;
    struct bp_group g = {0};
    bp_id_new(g.id);
    char name[] = "Gig at the Roxy", description[] = "first set";
    g.name = name;
    g.description = description;
    bp_id_new(g.event);
    g.created_at = 1714594503123;
    g.updated_at = 1714594503999;
    struct bp_error err = {{0}};
    assert_int_equal(bp_store_group_insert(f->store, &g, &err), BP_OK);

    struct bp_group got;
    assert_int_equal(bp_store_group_get(f->store, g.id, &got, &err), BP_OK);
    assert_string_equal(got.id, g.id);
    assert_string_equal(got.name, "Gig at the Roxy");
    assert_string_equal(got.description, "first set");
    assert_string_equal(got.event, g.event);
    assert_int_equal(got.created_at, 1714594503123);
    assert_int_equal(got.updated_at, 1714594503999);
    bp_group_clear(&got);
}

static void test_bp_store_group_insert_nulls_round_trip(void **state)
{
    struct fixture *f = *state;
    char id[BP_ID_LEN + 1];
    insert(f->store, "plain", NULL, 1000, id);
    struct bp_group got;
    struct bp_error err = {{0}};
    assert_int_equal(bp_store_group_get(f->store, id, &got, &err), BP_OK);
    assert_null(got.description);
    assert_string_equal(got.event, "");
    bp_group_clear(&got);
}

static void test_bp_store_group_insert_duplicate_id(void **state)
{
    struct fixture *f = *state;
    struct bp_group g = {0};
    bp_id_new(g.id);
    char name[] = "one";
    g.name = name;
    struct bp_error err = {{0}};
    assert_int_equal(bp_store_group_insert(f->store, &g, &err), BP_OK);
    assert_int_equal(bp_store_group_insert(f->store, &g, &err), BP_ECONFLICT);
}

static void test_bp_store_group_get_missing(void **state)
{
    struct fixture *f = *state;
    char id[BP_ID_LEN + 1];
    bp_id_new(id);
    struct bp_group got;
    struct bp_error err = {{0}};
    assert_int_equal(bp_store_group_get(f->store, id, &got, &err),
                     BP_ENOTFOUND);
    assert_string_equal(err.detail, "Group with that ID not found");
}

static void test_bp_store_group_list_newest_first_with_paging(void **state)
{
    struct fixture *f = *state;
    char ids[5][BP_ID_LEN + 1];
    for (int i = 0; i < 5; i++) {
        char name[16];
        snprintf(name, sizeof(name), "g%d", i);
        insert(f->store, name, NULL, 1000 + i, ids[i]);
    }
    struct bp_group_query q = {.limit = 2, .offset = 0};
    struct bp_group_list list;
    struct bp_error err = {{0}};
    assert_int_equal(bp_store_group_list(f->store, &q, &list, &err), BP_OK);
    assert_int_equal(list.total, 5);
    assert_int_equal(list.count, 2);
    assert_string_equal(list.items[0].name, "g4");
    assert_string_equal(list.items[1].name, "g3");
    bp_group_list_free(&list);

    q.offset = 4;
    assert_int_equal(bp_store_group_list(f->store, &q, &list, &err), BP_OK);
    assert_int_equal(list.count, 1);
    assert_string_equal(list.items[0].id, ids[0]);
    bp_group_list_free(&list);

    q.offset = 10;
    assert_int_equal(bp_store_group_list(f->store, &q, &list, &err), BP_OK);
    assert_int_equal(list.count, 0);
    assert_int_equal(list.total, 5);
    bp_group_list_free(&list);
}

static void test_bp_store_group_list_same_time_ordered_by_id(void **state)
{
    struct fixture *f = *state;
    char a[BP_ID_LEN + 1], b[BP_ID_LEN + 1];
    insert(f->store, "a", NULL, 5000, a);
    insert(f->store, "b", NULL, 5000, b);
    struct bp_group_query q = {.limit = 10};
    struct bp_group_list list;
    struct bp_error err = {{0}};
    assert_int_equal(bp_store_group_list(f->store, &q, &list, &err), BP_OK);
    assert_int_equal(list.count, 2);
    /* ObjectIds from one process grow, so the later one comes first. */
    assert_string_equal(list.items[0].id, strcmp(a, b) > 0 ? a : b);
    bp_group_list_free(&list);
}

static void test_bp_store_group_list_event_filter(void **state)
{
    struct fixture *f = *state;
    char event[BP_ID_LEN + 1], other[BP_ID_LEN + 1], id[BP_ID_LEN + 1];
    bp_id_new(event);
    bp_id_new(other);
    insert(f->store, "in1", event, 1, id);
    insert(f->store, "out", other, 2, id);
    insert(f->store, "none", NULL, 3, id);
    insert(f->store, "in2", event, 4, id);
    struct bp_group_query q = {.event = event, .limit = 10};
    struct bp_group_list list;
    struct bp_error err = {{0}};
    assert_int_equal(bp_store_group_list(f->store, &q, &list, &err), BP_OK);
    assert_int_equal(list.total, 2);
    assert_int_equal(list.count, 2);
    assert_string_equal(list.items[0].name, "in2");
    assert_string_equal(list.items[1].name, "in1");
    bp_group_list_free(&list);
}

static void test_bp_store_group_update_partial(void **state)
{
    struct fixture *f = *state;
    char event[BP_ID_LEN + 1], id[BP_ID_LEN + 1];
    bp_id_new(event);
    insert(f->store, "before", event, 1000, id);

    struct bp_group_patch patch = {.set_name = true, .name = "after"};
    struct bp_group got;
    struct bp_error err = {{0}};
    assert_int_equal(
        bp_store_group_update(f->store, id, &patch, 2000, &got, &err), BP_OK);
    assert_string_equal(got.name, "after");
    assert_string_equal(got.event, event);
    assert_null(got.description);
    assert_int_equal(got.created_at, 1000);
    assert_int_equal(got.updated_at, 2000);
    bp_group_clear(&got);

    struct bp_group_patch clear = {.set_event = true,
                                   .set_description = true,
                                   .description = "now described"};
    assert_int_equal(
        bp_store_group_update(f->store, id, &clear, 3000, &got, &err), BP_OK);
    assert_string_equal(got.name, "after");
    assert_string_equal(got.event, "");
    assert_string_equal(got.description, "now described");
    bp_group_clear(&got);

    /* What update returned is what a later read sees. */
    assert_int_equal(bp_store_group_get(f->store, id, &got, &err), BP_OK);
    assert_string_equal(got.description, "now described");
    assert_int_equal(got.updated_at, 3000);
    bp_group_clear(&got);
}

static void test_bp_store_group_update_missing(void **state)
{
    struct fixture *f = *state;
    char id[BP_ID_LEN + 1];
    bp_id_new(id);
    struct bp_group_patch patch = {.set_name = true, .name = "x"};
    struct bp_group got;
    struct bp_error err = {{0}};
    assert_int_equal(bp_store_group_update(f->store, id, &patch, 1, &got, &err),
                     BP_ENOTFOUND);
}

static void test_bp_store_group_delete_returns_and_removes(void **state)
{
    struct fixture *f = *state;
    char id[BP_ID_LEN + 1], keep[BP_ID_LEN + 1];
    insert(f->store, "doomed", NULL, 1, id);
    insert(f->store, "kept", NULL, 2, keep);
    struct bp_group got;
    struct bp_image_list removed;
    struct bp_error err = {{0}};
    assert_int_equal(bp_store_group_delete(f->store, id, &got, &removed, &err),
                     BP_OK);
    assert_string_equal(got.name, "doomed");
    assert_int_equal(removed.count, 0);
    bp_group_clear(&got);
    assert_int_equal(bp_store_group_get(f->store, id, &got, &err),
                     BP_ENOTFOUND);
    assert_int_equal(bp_store_group_delete(f->store, id, &got, &removed, &err),
                     BP_ENOTFOUND);
    assert_int_equal(bp_store_group_get(f->store, keep, &got, &err), BP_OK);
    bp_group_clear(&got);
}

static void test_bp_store_ping_answers(void **state)
{
    struct fixture *f = *state;
    struct bp_error err = {{0}};
    assert_int_equal(bp_store_ping(f->store, &err), BP_OK);
}

static void test_bp_store_open_twice_keeps_data(void **state)
{
    struct fixture *f = *state;
    char id[BP_ID_LEN + 1];
    insert(f->store, "persisted", NULL, 1, id);
    /* A second connection (another worker) sees the same schema and row. */
    struct bp_store *second;
    struct bp_error err = {{0}};
    assert_int_equal(bp_store_open(&f->cfg, &second, &err), BP_OK);
    struct bp_group got;
    assert_int_equal(bp_store_group_get(second, id, &got, &err), BP_OK);
    assert_string_equal(got.name, "persisted");
    bp_group_clear(&got);
    assert_string_equal(bp_store_name(second), bp_store_name(f->store));
    bp_store_close(second);
}

#ifndef BP_CONTRACT_MONGO
static void test_bp_store_open_rejects_unknown_scheme(void **state)
{
    struct fixture *f = *state;
    char *saved = f->cfg.database_url;
    char url[] = "postgres://localhost/x";
    f->cfg.database_url = url;
    struct bp_store *store = NULL;
    struct bp_error err = {{0}};
    assert_int_equal(bp_store_open(&f->cfg, &store, &err), BP_EINVAL);
    assert_null(store);
    f->cfg.database_url = saved;
}

static void test_bp_store_open_unwritable_is_unavailable(void **state)
{
    struct fixture *f = *state;
    char *saved = f->cfg.database_url;
    char url[] = "sqlite:///proc/bandpics/no.db";
    f->cfg.database_url = url;
    struct bp_store *store = NULL;
    struct bp_error err = {{0}};
    assert_int_equal(bp_store_open(&f->cfg, &store, &err), BP_EUNAVAILABLE);
    assert_null(store);
    f->cfg.database_url = saved;
}

#endif

/* Fills image with test values: a file of the given capture time/place. */
static void make_image(struct bp_image *image, const char *group,
                       const char *name, int64_t taken_ms, double lat,
                       double lon, int has_position)
{
    memset(image, 0, sizeof(*image));
    bp_id_new(image->id);
    if (group != NULL)
        memcpy(image->group, group, BP_ID_LEN + 1);
    image->filename = strdup(name);
    image->content_type = strdup("image/jpeg");
    image->data_json = strdup("{\"Make\":\"Canon\"}");
    image->size = 1234;
    memset(image->sha256, 'a', BP_SHA256_HEX_LEN);
    image->width = 640;
    image->height = 480;
    if (taken_ms >= 0) {
        image->has_taken_at_ms = true;
        image->taken_at_ms = taken_ms;
        snprintf(image->taken_at, sizeof(image->taken_at), "t%lld",
                 (long long)taken_ms);
    }
    image->has_position = has_position;
    image->latitude = lat;
    image->longitude = lon;
    image->created_at = 1000;
    image->updated_at = 1000;
}

static void make_group(struct bp_group *group, const char *name)
{
    memset(group, 0, sizeof(*group));
    bp_id_new(group->id);
    group->name = strdup(name);
    group->created_at = 1;
    group->updated_at = 1;
}

static void clear_images(struct bp_image *images, size_t n)
{
    for (size_t i = 0; i < n; i++)
        bp_image_clear(&images[i]);
}

static void test_bp_store_owners_and_location_round_trip(void **state)
{
    struct fixture *f = *state;
    struct bp_group group;
    make_group(&group, "owned");
    memcpy(group.owner, "sub-1234", 9);
    group.location_hidden = true;
    struct bp_image image;
    make_image(&image, group.id, "mine.jpg", 5, 0, 0, 0);
    memcpy(image.owner, "sub-1234", 9);
    struct bp_error err = {{0}};
    assert_int_equal(bp_store_images_insert(f->store, &group, &image, 1, &err),
                     BP_OK);
    struct bp_group got;
    assert_int_equal(bp_store_group_get(f->store, group.id, &got, &err), BP_OK);
    assert_string_equal(got.owner, "sub-1234");
    assert_true(got.location_hidden);
    bp_group_clear(&got);
    struct bp_image got_image;
    assert_int_equal(bp_store_image_get(f->store, image.id, &got_image, &err),
                     BP_OK);
    assert_string_equal(got_image.owner, "sub-1234");
    bp_image_clear(&got_image);

    /* The location policy changes; the owner never does. */
    struct bp_group_patch patch = {.set_location = true,
                                   .location_hidden = false};
    assert_int_equal(
        bp_store_group_update(f->store, group.id, &patch, 9, &got, &err),
        BP_OK);
    assert_false(got.location_hidden);
    assert_string_equal(got.owner, "sub-1234");
    bp_group_clear(&got);

    /* A group inserted alone keeps them too; no owner reads as "". */
    struct bp_group plain;
    make_group(&plain, "nobody's");
    assert_int_equal(bp_store_group_insert(f->store, &plain, &err), BP_OK);
    assert_int_equal(bp_store_group_get(f->store, plain.id, &got, &err), BP_OK);
    assert_string_equal(got.owner, "");
    assert_false(got.location_hidden);
    bp_group_clear(&got);
    bp_group_clear(&plain);
    bp_group_clear(&group);
    bp_image_clear(&image);
}

static void test_bp_store_place_filters_skip_hidden_locations(void **state)
{
    struct fixture *f = *state;
    struct bp_group open, hidden;
    make_group(&open, "open");
    make_group(&hidden, "hidden");
    hidden.location_hidden = true;
    memcpy(hidden.owner, "grp-owner", 10);
    struct bp_image a, b, c;
    make_image(&a, open.id, "a.jpg", 1, 48.85, 2.35, 1);
    make_image(&b, hidden.id, "b.jpg", 2, 48.86, 2.34, 1);
    make_image(&c, hidden.id, "c.jpg", 3, 48.84, 2.36, 1);
    memcpy(c.owner, "img-owner", 10);
    struct bp_error err = {{0}};
    assert_int_equal(bp_store_images_insert(f->store, &open, &a, 1, &err),
                     BP_OK);
    assert_int_equal(bp_store_group_insert(f->store, &hidden, &err), BP_OK);
    struct bp_image pair[2] = {b, c};
    assert_int_equal(bp_store_images_insert(f->store, NULL, pair, 2, &err),
                     BP_OK);
    static const struct {
        const char *viewer;
        bool hide;
        size_t expected;
    } cases[] = {
        {"", true, 1},          /* anonymous: the open group's only */
        {"stranger", true, 1},  /* nor anyone else's */
        {"img-owner", true, 2}, /* its own image too */
        {"grp-owner", true, 3}, /* the whole group it owns */
        {"", false, 3},         /* admins do not hide */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct bp_image_query bbox = {.has_bbox = true,
                                      .min_lon = 2.0,
                                      .min_lat = 48.0,
                                      .max_lon = 3.0,
                                      .max_lat = 49.0,
                                      .hide_hidden_locations = cases[i].hide,
                                      .viewer = cases[i].viewer};
        struct bp_image_query near = {.has_near = true,
                                      .near_lat = 48.85,
                                      .near_lon = 2.35,
                                      .radius_m = 10000,
                                      .hide_hidden_locations = cases[i].hide,
                                      .viewer = cases[i].viewer};
        struct bp_image_query plain = {.hide_hidden_locations = cases[i].hide,
                                       .viewer = cases[i].viewer};
        struct bp_image_list list;
        assert_int_equal(bp_store_image_list(f->store, &bbox, &list, &err),
                         BP_OK);
        assert_int_equal(list.count, cases[i].expected);
        bp_image_list_free(&list);
        assert_int_equal(bp_store_image_list(f->store, &near, &list, &err),
                         BP_OK);
        assert_int_equal(list.count, cases[i].expected);
        bp_image_list_free(&list);
        /* Without a place filter nothing is hidden from the list. */
        assert_int_equal(bp_store_image_list(f->store, &plain, &list, &err),
                         BP_OK);
        assert_int_equal(list.count, 3);
        bp_image_list_free(&list);
    }
    clear_images(pair, 2);
    bp_image_clear(&a);
    bp_group_clear(&open);
    bp_group_clear(&hidden);
}

static void test_bp_store_groups_detach_event(void **state)
{
    struct fixture *f = *state;
    char event[BP_ID_LEN + 1], other_event[BP_ID_LEN + 1];
    bp_id_new(event);
    bp_id_new(other_event);
    struct bp_group groups[4];
    const char *owners[] = {"alice", "bob", "alice", "alice"};
    struct bp_error err = {{0}};
    for (int i = 0; i < 4; i++) {
        make_group(&groups[i], "g");
        memcpy(groups[i].event, i == 3 ? other_event : event, BP_ID_LEN + 1);
        snprintf(groups[i].owner, sizeof(groups[i].owner), "%s", owners[i]);
        assert_int_equal(bp_store_group_insert(f->store, &groups[i], &err),
                         BP_OK);
    }
    long long count = -1;
    /* Only alice's groups of the event first, then everyone's. */
    assert_int_equal(bp_store_groups_detach_event(f->store, event, "alice", 50,
                                                  &count, &err),
                     BP_OK);
    assert_int_equal(count, 2);
    struct bp_group got;
    assert_int_equal(bp_store_group_get(f->store, groups[0].id, &got, &err),
                     BP_OK);
    assert_string_equal(got.event, "");
    assert_int_equal(got.updated_at, 50);
    bp_group_clear(&got);
    assert_int_equal(bp_store_group_get(f->store, groups[1].id, &got, &err),
                     BP_OK);
    assert_string_equal(got.event, event);
    bp_group_clear(&got);
    assert_int_equal(
        bp_store_groups_detach_event(f->store, event, NULL, 60, &count, &err),
        BP_OK);
    assert_int_equal(count, 1);
    assert_int_equal(
        bp_store_groups_detach_event(f->store, event, NULL, 70, &count, &err),
        BP_OK);
    assert_int_equal(count, 0);
    /* Another event's group is untouched. */
    assert_int_equal(bp_store_group_get(f->store, groups[3].id, &got, &err),
                     BP_OK);
    assert_string_equal(got.event, other_event);
    bp_group_clear(&got);
    for (int i = 0; i < 4; i++)
        bp_group_clear(&groups[i]);
}

static void test_bp_store_keys_insert_get_list_revoke(void **state)
{
    struct fixture *f = *state;
    struct bp_api_key first, second;
    char text[BP_API_KEY_TEXT_LEN + 1];
    struct bp_error err = {{0}};
    assert_int_equal(bp_api_key_new("ci deploy", BP_ROLE_CONTRIBUTOR, 1000, 0,
                                    &first, text, &err),
                     BP_OK);
    assert_int_equal(bp_api_key_new("admin", BP_ROLE_ADMIN, 2000, 900000,
                                    &second, text, &err),
                     BP_OK);
    assert_int_equal(bp_store_key_insert(f->store, &second, &err), BP_OK);
    assert_int_equal(bp_store_key_insert(f->store, &first, &err), BP_OK);
    assert_int_equal(bp_store_key_insert(f->store, &first, &err), BP_ECONFLICT);

    struct bp_api_key got;
    assert_int_equal(bp_store_key_get(f->store, second.id, &got, &err), BP_OK);
    assert_memory_equal(&got, &second, sizeof(got));
    char secret[BP_API_KEY_SECRET_LEN + 1], id[BP_ID_LEN + 1];
    assert_true(bp_api_key_split(text, id, secret));
    assert_string_equal(id, second.id);
    assert_true(bp_api_key_accepts(&got, secret, 2001));
    assert_false(bp_api_key_accepts(&got, secret, 900000)); /* expired */

    struct bp_api_key_list list;
    assert_int_equal(bp_store_key_list(f->store, &list, &err), BP_OK);
    assert_int_equal(list.count, 2);
    assert_string_equal(list.items[0].id, first.id); /* oldest first */
    assert_string_equal(list.items[0].name, "ci deploy");
    assert_int_equal(list.items[0].role, BP_ROLE_CONTRIBUTOR);
    assert_string_equal(list.items[1].id, second.id);
    bp_api_key_list_free(&list);

    assert_int_equal(bp_store_key_revoke(f->store, second.id, 3000, &got, &err),
                     BP_OK);
    assert_int_equal(got.revoked_at, 3000);
    assert_false(bp_api_key_accepts(&got, secret, 2001));
    /* Revoking again keeps the first time. */
    assert_int_equal(bp_store_key_revoke(f->store, second.id, 4000, &got, &err),
                     BP_OK);
    assert_int_equal(got.revoked_at, 3000);
    assert_int_equal(bp_store_key_get(f->store, second.id, &got, &err), BP_OK);
    assert_int_equal(got.revoked_at, 3000);

    char missing[BP_ID_LEN + 1];
    bp_id_new(missing);
    assert_int_equal(bp_store_key_get(f->store, missing, &got, &err),
                     BP_ENOTFOUND);
    assert_int_equal(bp_store_key_revoke(f->store, missing, 1, &got, &err),
                     BP_ENOTFOUND);
    assert_int_equal(bp_store_key_get(f->store, "not-an-id", &got, &err),
                     BP_ENOTFOUND);
}

static void test_bp_store_images_insert_with_new_group(void **state)
{
    struct fixture *f = *state;
    struct bp_group group;
    make_group(&group, "gig");
    struct bp_image images[3];
    make_image(&images[0], group.id, "late.jpg", 3000, 0, 0, 0);
    make_image(&images[1], group.id, "early.jpg", 1000, 0, 0, 0);
    make_image(&images[2], group.id, "undated.png", -1, 0, 0, 0);
    struct bp_error err = {{0}};
    assert_int_equal(bp_store_images_insert(f->store, &group, images, 3, &err),
                     BP_OK);

    struct bp_image got;
    assert_int_equal(bp_store_image_get(f->store, images[0].id, &got, &err),
                     BP_OK);
    assert_string_equal(got.filename, "late.jpg");
    assert_string_equal(got.group, group.id);
    assert_string_equal(got.data_json, "{\"Make\":\"Canon\"}");
    assert_string_equal(got.taken_at, "t3000");
    assert_int_equal(got.width, 640);
    assert_null(got.description);
    assert_false(got.has_position);
    bp_image_clear(&got);

    struct bp_image_query q = {.group = group.id};
    struct bp_image_list list;
    assert_int_equal(bp_store_image_list(f->store, &q, &list, &err), BP_OK);
    assert_int_equal(list.total, 3);
    assert_string_equal(list.items[0].filename, "early.jpg");
    assert_string_equal(list.items[1].filename, "late.jpg");
    assert_string_equal(list.items[2].filename, "undated.png");
    bp_image_list_free(&list);
    clear_images(images, 3);
    bp_group_clear(&group);
}

static void test_bp_store_images_insert_is_all_or_nothing(void **state)
{
    struct fixture *f = *state;
    char missing[BP_ID_LEN + 1];
    bp_id_new(missing);
    struct bp_image images[2];
    make_image(&images[0], NULL, "fine.jpg", 1, 0, 0, 0);
    make_image(&images[1], missing, "orphan.jpg", 2, 0, 0, 0);
    struct bp_error err = {{0}};
    assert_int_equal(bp_store_images_insert(f->store, NULL, images, 2, &err),
                     BP_ENOTFOUND);
    assert_string_equal(err.detail, "Group with that ID not found");
    struct bp_image got;
    assert_int_equal(bp_store_image_get(f->store, images[0].id, &got, &err),
                     BP_ENOTFOUND);
    clear_images(images, 2);
}

static void test_bp_store_image_list_filters(void **state)
{
    struct fixture *f = *state;
    struct bp_image images[4];
    make_image(&images[0], NULL, "berlin.jpg", 1000, 52.52, 13.405, 1);
    make_image(&images[1], NULL, "potsdam.jpg", 2000, 52.39, 13.065, 1);
    make_image(&images[2], NULL, "fiji.jpg", 3000, -17.7, 179.9, 1);
    make_image(&images[3], NULL, "nowhere.jpg", 4000, 0, 0, 0);
    struct bp_error err = {{0}};
    assert_int_equal(bp_store_images_insert(f->store, NULL, images, 4, &err),
                     BP_OK);
    struct bp_image_list list;

    struct bp_image_query after = {.has_taken_after = true,
                                   .taken_after_ms = 2000,
                                   .has_taken_before = true,
                                   .taken_before_ms = 3000};
    assert_int_equal(bp_store_image_list(f->store, &after, &list, &err), BP_OK);
    assert_int_equal(list.total, 2);
    assert_string_equal(list.items[0].filename, "potsdam.jpg");
    bp_image_list_free(&list);

    struct bp_image_query box = {.has_bbox = true,
                                 .min_lon = 13.0,
                                 .min_lat = 52.0,
                                 .max_lon = 14.0,
                                 .max_lat = 53.0};
    assert_int_equal(bp_store_image_list(f->store, &box, &list, &err), BP_OK);
    assert_int_equal(list.total, 2);
    bp_image_list_free(&list);

    /* A box across the antimeridian. */
    struct bp_image_query wrap = {.has_bbox = true,
                                  .min_lon = 179.0,
                                  .min_lat = -20.0,
                                  .max_lon = -179.0,
                                  .max_lat = -10.0};
    assert_int_equal(bp_store_image_list(f->store, &wrap, &list, &err), BP_OK);
    assert_int_equal(list.total, 1);
    assert_string_equal(list.items[0].filename, "fiji.jpg");
    bp_image_list_free(&list);

    /* Berlin to Potsdam is about 26 km. */
    struct bp_image_query near = {.has_near = true,
                                  .near_lat = 52.52,
                                  .near_lon = 13.405,
                                  .radius_m = 20000};
    assert_int_equal(bp_store_image_list(f->store, &near, &list, &err), BP_OK);
    assert_int_equal(list.total, 1);
    bp_image_list_free(&list);
    near.radius_m = 30000;
    near.limit = 1;
    near.offset = 1;
    assert_int_equal(bp_store_image_list(f->store, &near, &list, &err), BP_OK);
    assert_int_equal(list.total, 2);
    assert_int_equal(list.count, 1);
    assert_string_equal(list.items[0].filename, "potsdam.jpg");
    bp_image_list_free(&list);
    clear_images(images, 4);
}

static void test_bp_store_image_update_and_move(void **state)
{
    struct fixture *f = *state;
    char group[BP_ID_LEN + 1], missing[BP_ID_LEN + 1];
    insert(f->store, "target", NULL, 1, group);
    bp_id_new(missing);
    struct bp_image image;
    make_image(&image, NULL, "a.jpg", 1, 0, 0, 0);
    struct bp_error err = {{0}};
    assert_int_equal(bp_store_images_insert(f->store, NULL, &image, 1, &err),
                     BP_OK);
    struct bp_image_patch patch = {
        .set_description = true, .description = "encore", .set_group = true};
    memcpy(patch.group, group, sizeof(patch.group));
    struct bp_image got;
    assert_int_equal(
        bp_store_image_update(f->store, image.id, &patch, 5000, &got, &err),
        BP_OK);
    assert_string_equal(got.description, "encore");
    assert_string_equal(got.group, group);
    assert_int_equal(got.updated_at, 5000);
    bp_image_clear(&got);

    struct bp_image_patch bad = {.set_group = true};
    memcpy(bad.group, missing, sizeof(bad.group));
    assert_int_equal(
        bp_store_image_update(f->store, image.id, &bad, 6000, &got, &err),
        BP_ENOTFOUND);
    assert_int_equal(bp_store_image_get(f->store, image.id, &got, &err), BP_OK);
    assert_string_equal(got.group, group);
    assert_int_equal(got.updated_at, 5000);
    bp_image_clear(&got);
    assert_int_equal(
        bp_store_image_update(f->store, missing, &patch, 1, &got, &err),
        BP_ENOTFOUND);
    assert_string_equal(err.detail, "Image with that ID not found");
    bp_image_clear(&image);
}

static void test_bp_store_image_replace_file_keeps_metadata(void **state)
{
    struct fixture *f = *state;
    struct bp_image image, file;
    make_image(&image, NULL, "old.jpg", 1, 0, 0, 0);
    free(image.filename);
    image.filename = strdup("old.jpg");
    image.description = strdup("kept");
    struct bp_error err = {{0}};
    assert_int_equal(bp_store_images_insert(f->store, NULL, &image, 1, &err),
                     BP_OK);
    make_image(&file, NULL, "new.png", 9000, 1.5, 2.5, 1);
    memcpy(file.id, image.id, sizeof(file.id));
    struct bp_image got;
    assert_int_equal(
        bp_store_image_replace_file(f->store, &file, 7000, &got, &err), BP_OK);
    assert_string_equal(got.filename, "new.png");
    assert_string_equal(got.description, "kept");
    assert_true(got.has_position);
    assert_true(got.latitude == 1.5);
    assert_int_equal(got.taken_at_ms, 9000);
    assert_int_equal(got.created_at, 1000);
    assert_int_equal(got.updated_at, 7000);
    bp_image_clear(&got);
    bp_image_clear(&image);
    bp_image_clear(&file);
}

static void test_bp_store_group_delete_takes_its_images(void **state)
{
    struct fixture *f = *state;
    struct bp_group group;
    make_group(&group, "doomed");
    struct bp_image images[2], other;
    make_image(&images[0], group.id, "one.jpg", 1, 0, 0, 0);
    make_image(&images[1], group.id, "two.jpg", 2, 0, 0, 0);
    make_image(&other, NULL, "loose.jpg", 3, 0, 0, 0);
    struct bp_error err = {{0}};
    assert_int_equal(bp_store_images_insert(f->store, &group, images, 2, &err),
                     BP_OK);
    assert_int_equal(bp_store_images_insert(f->store, NULL, &other, 1, &err),
                     BP_OK);
    struct bp_group got;
    struct bp_image_list removed;
    assert_int_equal(
        bp_store_group_delete(f->store, group.id, &got, &removed, &err), BP_OK);
    assert_int_equal(removed.count, 2);
    bp_image_list_free(&removed);
    bp_group_clear(&got);
    struct bp_image gone;
    assert_int_equal(bp_store_image_get(f->store, images[0].id, &gone, &err),
                     BP_ENOTFOUND);
    assert_int_equal(bp_store_image_delete(f->store, other.id, &gone, &err),
                     BP_OK);
    assert_string_equal(gone.filename, "loose.jpg");
    bp_image_clear(&gone);
    assert_int_equal(bp_store_image_delete(f->store, other.id, &gone, &err),
                     BP_ENOTFOUND);
    clear_images(images, 2);
    bp_image_clear(&other);
    bp_group_clear(&group);
}

/*
 * Fills image as a pending image that never had a file: the awaited
 * name, no content type or data yet, awaited until expires_at.
 */
static void make_pending(struct bp_image *image, const char *group,
                         const char *name, int64_t expires_at)
{
    memset(image, 0, sizeof(*image));
    bp_id_new(image->id);
    if (group != NULL)
        memcpy(image->group, group, BP_ID_LEN + 1);
    image->filename = strdup(name);
    image->upload_filename = strdup(name);
    image->upload_expires_at = expires_at;
    image->created_at = 1000;
    image->updated_at = 1000;
}

/* Checks that image is pending for name until expires_at, with no file. */
static void assert_pending_without_file(const struct bp_image *image,
                                        const char *name, int64_t expires_at)
{
    assert_true(bp_image_upload_awaited(image));
    assert_false(bp_image_has_file(image));
    assert_string_equal(image->filename, name);
    assert_string_equal(image->upload_filename, name);
    assert_int_equal(image->upload_expires_at, expires_at);
    assert_int_equal(image->size, 0);
    assert_string_equal(image->sha256, "");
    assert_int_equal(image->width, 0);
    assert_int_equal(image->height, 0);
    assert_string_equal(image->taken_at, "");
    assert_false(image->has_taken_at_ms);
    assert_false(image->has_position);
    assert_string_equal(image->content_type, "");
    assert_string_equal(image->data_json, "{}");
}

/* Checks that image awaits no upload. */
static void assert_ready(const struct bp_image *image)
{
    assert_false(bp_image_upload_awaited(image));
    assert_null(image->upload_filename);
    assert_int_equal(image->upload_expires_at, 0);
}

/* Lists the images whose awaited upload expires before `before`. */
static void list_expired(struct bp_store *store, int64_t before,
                         struct bp_image_list *list)
{
    struct bp_image_query q = {.has_upload_expired_before = true,
                               .upload_expired_before_ms = before};
    struct bp_error err = {{0}};
    assert_int_equal(bp_store_image_list(store, &q, list, &err), BP_OK);
}

static void test_bp_store_images_insert_pending_round_trips(void **state)
{
    struct fixture *f = *state;
    struct bp_group group;
    make_group(&group, "gig");
    struct bp_image images[3];
    make_pending(&images[0], group.id, "soon.jpg", 1714594503123);
    make_image(&images[1], group.id, "ready.jpg", 5, 0, 0, 0);
    /* A name without an expiry is no awaited upload: not stored. */
    make_image(&images[2], group.id, "named.jpg", 6, 0, 0, 0);
    images[2].upload_filename = strdup("ignored.jpg");
    struct bp_error err = {{0}};
    assert_int_equal(bp_store_images_insert(f->store, &group, images, 3, &err),
                     BP_OK);

    struct bp_image got;
    assert_int_equal(bp_store_image_get(f->store, images[0].id, &got, &err),
                     BP_OK);
    assert_pending_without_file(&got, "soon.jpg", 1714594503123);
    assert_string_equal(got.group, group.id);
    assert_int_equal(got.created_at, 1000);
    bp_image_clear(&got);
    assert_int_equal(bp_store_image_get(f->store, images[2].id, &got, &err),
                     BP_OK);
    assert_ready(&got);
    assert_true(bp_image_has_file(&got));
    bp_image_clear(&got);

    /* A group's listing and a filtered one read the fields too. */
    struct bp_image_query whole = {.group = group.id};
    struct bp_image_query paged = {.group = group.id, .limit = 10};
    const struct bp_image_query *queries[] = {&whole, &paged};
    for (size_t i = 0; i < 2; i++) {
        struct bp_image_list list;
        assert_int_equal(bp_store_image_list(f->store, queries[i], &list, &err),
                         BP_OK);
        assert_int_equal(list.count, 3);
        assert_string_equal(list.items[0].filename, "ready.jpg");
        assert_ready(&list.items[0]);
        assert_ready(&list.items[1]);
        /* Without a capture time, the pending image comes last. */
        assert_pending_without_file(&list.items[2], "soon.jpg", 1714594503123);
        bp_image_list_free(&list);
    }
    clear_images(images, 3);
    bp_group_clear(&group);
}

static void test_bp_store_image_list_upload_expired_before(void **state)
{
    struct fixture *f = *state;
    char group[BP_ID_LEN + 1];
    insert(f->store, "gig", NULL, 1, group);
    struct bp_image images[4];
    make_pending(&images[0], NULL, "first.jpg", 5000);
    make_pending(&images[1], group, "second.jpg", 6000);
    make_image(&images[2], NULL, "ready.jpg", 1, 0, 0, 0);
    make_image(&images[3], group, "ready2.jpg", -1, 0, 0, 0);
    struct bp_error err = {{0}};
    assert_int_equal(bp_store_images_insert(f->store, NULL, images, 4, &err),
                     BP_OK);
    struct bp_image_list list;

    /* Strictly before: an upload expiring at 5000 has not expired then. */
    list_expired(f->store, 5000, &list);
    assert_int_equal(list.total, 0);
    assert_int_equal(list.count, 0);
    bp_image_list_free(&list);
    list_expired(f->store, 5001, &list);
    assert_int_equal(list.total, 1);
    assert_string_equal(list.items[0].filename, "first.jpg");
    assert_pending_without_file(&list.items[0], "first.jpg", 5000);
    bp_image_list_free(&list);
    list_expired(f->store, 6000, &list);
    assert_int_equal(list.total, 1);
    bp_image_list_free(&list);

    /* Ready images (expiry 0) never match, however late the bound. */
    list_expired(f->store, INT64_MAX, &list);
    assert_int_equal(list.total, 2);
    assert_int_equal(list.count, 2);
    for (size_t i = 0; i < list.count; i++)
        assert_true(bp_image_upload_awaited(&list.items[i]));
    bp_image_list_free(&list);

    /* With other filters and paging. */
    struct bp_image_query q = {.group = group,
                               .has_upload_expired_before = true,
                               .upload_expired_before_ms = 7000};
    assert_int_equal(bp_store_image_list(f->store, &q, &list, &err), BP_OK);
    assert_int_equal(list.total, 1);
    assert_string_equal(list.items[0].filename, "second.jpg");
    bp_image_list_free(&list);
    struct bp_image_query page = {.has_upload_expired_before = true,
                                  .upload_expired_before_ms = 7000,
                                  .limit = 1,
                                  .offset = 1};
    assert_int_equal(bp_store_image_list(f->store, &page, &list, &err), BP_OK);
    assert_int_equal(list.total, 2);
    assert_int_equal(list.count, 1);
    bp_image_list_free(&list);
    clear_images(images, 4);
}

static void test_bp_store_image_update_sets_and_stops_upload(void **state)
{
    struct fixture *f = *state;
    struct bp_image image;
    make_image(&image, NULL, "old.jpg", 1, 0, 0, 0);
    struct bp_error err = {{0}};
    assert_int_equal(bp_store_images_insert(f->store, NULL, &image, 1, &err),
                     BP_OK);

    /* A new file awaited for an image that has one: its file stays. */
    struct bp_image_patch await = {.set_upload = true,
                                   .upload_filename = "new.jpg",
                                   .upload_expires_at = 9000};
    struct bp_image got;
    assert_int_equal(
        bp_store_image_update(f->store, image.id, &await, 2000, &got, &err),
        BP_OK);
    assert_true(bp_image_upload_awaited(&got));
    assert_string_equal(got.upload_filename, "new.jpg");
    assert_int_equal(got.upload_expires_at, 9000);
    assert_string_equal(got.filename, "old.jpg");
    assert_true(bp_image_has_file(&got));
    assert_int_equal(got.updated_at, 2000);
    bp_image_clear(&got);

    /* A patch without set_upload leaves the upload alone. */
    struct bp_image_patch describe = {.set_description = true,
                                      .description = "encore"};
    assert_int_equal(
        bp_store_image_update(f->store, image.id, &describe, 3000, &got, &err),
        BP_OK);
    assert_string_equal(got.upload_filename, "new.jpg");
    assert_int_equal(got.upload_expires_at, 9000);
    bp_image_clear(&got);
    assert_int_equal(bp_store_image_get(f->store, image.id, &got, &err), BP_OK);
    assert_string_equal(got.description, "encore");
    assert_string_equal(got.upload_filename, "new.jpg");
    assert_int_equal(got.upload_expires_at, 9000);
    bp_image_clear(&got);
    struct bp_image_list list;
    list_expired(f->store, 9001, &list);
    assert_int_equal(list.total, 1);
    bp_image_list_free(&list);

    /* A NULL name stops awaiting, whatever expiry comes with it. */
    struct bp_image_patch stop = {.set_upload = true,
                                  .upload_expires_at = 12345};
    assert_int_equal(
        bp_store_image_update(f->store, image.id, &stop, 4000, &got, &err),
        BP_OK);
    assert_ready(&got);
    assert_string_equal(got.description, "encore");
    assert_int_equal(got.updated_at, 4000);
    bp_image_clear(&got);
    assert_int_equal(bp_store_image_get(f->store, image.id, &got, &err), BP_OK);
    assert_ready(&got);
    bp_image_clear(&got);
    list_expired(f->store, INT64_MAX, &list);
    assert_int_equal(list.total, 0);
    bp_image_list_free(&list);
    bp_image_clear(&image);
}

static void test_bp_store_image_replace_file_completes_upload(void **state)
{
    struct fixture *f = *state;
    struct bp_image image, file;
    make_pending(&image, NULL, "awaited.jpg", 8000);
    image.description = strdup("kept");
    struct bp_error err = {{0}};
    assert_int_equal(bp_store_images_insert(f->store, NULL, &image, 1, &err),
                     BP_OK);
    make_image(&file, NULL, "arrived.jpg", 9000, 1.5, 2.5, 1);
    memcpy(file.id, image.id, sizeof(file.id));
    /* The file record's upload name is not the image's; its expiry
     * names the upload it completes. */
    file.upload_filename = strdup("other.jpg");
    file.upload_expires_at = 8000;
    struct bp_image got;
    assert_int_equal(
        bp_store_image_replace_file(f->store, &file, 7000, &got, &err), BP_OK);
    assert_ready(&got);
    assert_true(bp_image_has_file(&got));
    assert_string_equal(got.filename, "arrived.jpg");
    assert_string_equal(got.content_type, "image/jpeg");
    assert_int_equal(got.size, 1234);
    assert_int_equal(got.width, 640);
    assert_string_equal(got.data_json, "{\"Make\":\"Canon\"}");
    assert_string_equal(got.description, "kept");
    assert_int_equal(got.updated_at, 7000);
    bp_image_clear(&got);
    assert_int_equal(bp_store_image_get(f->store, image.id, &got, &err), BP_OK);
    assert_ready(&got);
    assert_string_equal(got.filename, "arrived.jpg");
    bp_image_clear(&got);
    struct bp_image_list list;
    list_expired(f->store, INT64_MAX, &list);
    assert_int_equal(list.total, 0);
    bp_image_list_free(&list);
    bp_image_clear(&image);
    bp_image_clear(&file);
}

static void test_bp_store_image_delete_returns_upload(void **state)
{
    struct fixture *f = *state;
    struct bp_image image;
    make_pending(&image, NULL, "never.jpg", 4242);
    struct bp_error err = {{0}};
    assert_int_equal(bp_store_images_insert(f->store, NULL, &image, 1, &err),
                     BP_OK);
    struct bp_image gone;
    assert_int_equal(bp_store_image_delete(f->store, image.id, &gone, &err),
                     BP_OK);
    assert_string_equal(gone.id, image.id);
    assert_pending_without_file(&gone, "never.jpg", 4242);
    bp_image_clear(&gone);
    struct bp_image_list list;
    list_expired(f->store, INT64_MAX, &list);
    assert_int_equal(list.total, 0);
    bp_image_list_free(&list);
    bp_image_clear(&image);
}

/* Inserts image and clears it, keeping its id in id. */
static void insert_one(struct bp_store *store, struct bp_image *image,
                       char id[BP_ID_LEN + 1])
{
    struct bp_error err = {{0}};
    assert_int_equal(bp_store_images_insert(store, NULL, image, 1, &err),
                     BP_OK);
    memcpy(id, image->id, BP_ID_LEN + 1);
    bp_image_clear(image);
}

/* Inserts a ready image with a file that awaits a new one until expires. */
static void insert_replacing(struct bp_store *store, int64_t expires,
                             char id[BP_ID_LEN + 1])
{
    struct bp_image image;
    make_image(&image, NULL, "had.jpg", 1, 0, 0, 0);
    insert_one(store, &image, id);
    struct bp_image_patch await = {.set_upload = true,
                                   .upload_filename = "next.jpg",
                                   .upload_expires_at = expires};
    struct bp_image got;
    struct bp_error err = {{0}};
    assert_int_equal(bp_store_image_update(store, id, &await, 1500, &got, &err),
                     BP_OK);
    bp_image_clear(&got);
}

/* Replaces the file of image id with a new one, conditional on expires. */
static enum bp_rc replace_file(struct bp_store *store, const char *id,
                               int64_t expires, int64_t now,
                               struct bp_error *err)
{
    struct bp_image file, got;
    make_image(&file, NULL, "arrived.jpg", 9000, 0, 0, 0);
    memcpy(file.id, id, sizeof(file.id));
    file.upload_expires_at = expires;
    enum bp_rc rc = bp_store_image_replace_file(store, &file, now, &got, err);
    if (rc == BP_OK)
        bp_image_clear(&got);
    bp_image_clear(&file);
    return rc;
}

/* Checks that image id reads back as the pending one make_pending made. */
static void assert_still_pending(struct bp_store *store, const char *id,
                                 const char *name, int64_t expires)
{
    struct bp_image got;
    struct bp_error err = {{0}};
    assert_int_equal(bp_store_image_get(store, id, &got, &err), BP_OK);
    assert_pending_without_file(&got, name, expires);
    assert_int_equal(got.updated_at, 1000);
    bp_image_clear(&got);
}

/* Checks that err is the conflict of a write to id with text after it. */
static void assert_conflict(const struct bp_error *err, const char *id,
                            const char *text)
{
    char detail[128];
    snprintf(detail, sizeof(detail), "Image %s %s", id, text);
    assert_string_equal(err->detail, detail);
}

static void test_bp_store_image_replace_file_if_awaited_conflicts(void **state)
{
    struct fixture *f = *state;
    struct bp_image image;
    char id[BP_ID_LEN + 1];
    make_pending(&image, NULL, "awaited.jpg", 8000);
    insert_one(f->store, &image, id);
    struct bp_error err = {{0}};

    /* Another upload's completion: refused, nothing changes. */
    assert_int_equal(replace_file(f->store, id, 7999, 7000, &err),
                     BP_ECONFLICT);
    assert_conflict(&err, id, "no longer awaits this upload");
    assert_still_pending(f->store, id, "awaited.jpg", 8000);

    /* Two completions of the same upload: the second one is refused. */
    assert_int_equal(replace_file(f->store, id, 8000, 7000, &err), BP_OK);
    assert_int_equal(replace_file(f->store, id, 8000, 7100, &err),
                     BP_ECONFLICT);
    assert_conflict(&err, id, "no longer awaits this upload");
    struct bp_image got;
    assert_int_equal(bp_store_image_get(f->store, id, &got, &err), BP_OK);
    assert_ready(&got);
    assert_int_equal(got.updated_at, 7000);
    bp_image_clear(&got);

    /* A replacement's completion racing a newer replacement request. */
    char replacing[BP_ID_LEN + 1];
    insert_replacing(f->store, 9000, replacing);
    struct bp_image_patch newer = {.set_upload = true,
                                   .upload_filename = "newer.jpg",
                                   .upload_expires_at = 9500};
    assert_int_equal(
        bp_store_image_update(f->store, replacing, &newer, 1600, &got, &err),
        BP_OK);
    bp_image_clear(&got);
    assert_int_equal(replace_file(f->store, replacing, 9000, 1700, &err),
                     BP_ECONFLICT);
    assert_conflict(&err, replacing, "no longer awaits this upload");
    assert_int_equal(bp_store_image_get(f->store, replacing, &got, &err),
                     BP_OK);
    assert_string_equal(got.filename, "had.jpg");
    assert_string_equal(got.upload_filename, "newer.jpg");
    assert_int_equal(got.upload_expires_at, 9500);
    assert_int_equal(got.updated_at, 1600);
    bp_image_clear(&got);
    assert_int_equal(replace_file(f->store, replacing, 9500, 1800, &err),
                     BP_OK);

    /* No such image: not found, conditional or not. */
    char missing[BP_ID_LEN + 1];
    bp_id_new(missing);
    assert_int_equal(replace_file(f->store, missing, 8000, 7000, &err),
                     BP_ENOTFOUND);
    assert_string_equal(err.detail, "Image with that ID not found");
    assert_int_equal(replace_file(f->store, missing, 0, 7000, &err),
                     BP_ENOTFOUND);
}

static void test_bp_store_image_replace_file_without_expiry_always(void **state)
{
    struct fixture *f = *state;
    struct bp_image image;
    char id[BP_ID_LEN + 1];
    make_pending(&image, NULL, "awaited.jpg", 8000);
    insert_one(f->store, &image, id);
    struct bp_error err = {{0}};
    /* A file sent in place of the awaited one: the wait ends with it. */
    assert_int_equal(replace_file(f->store, id, 0, 7000, &err), BP_OK);
    struct bp_image got;
    assert_int_equal(bp_store_image_get(f->store, id, &got, &err), BP_OK);
    assert_ready(&got);
    assert_string_equal(got.filename, "arrived.jpg");
    bp_image_clear(&got);
    assert_int_equal(replace_file(f->store, id, 0, 7100, &err), BP_OK);
}

static void test_bp_store_image_update_if_upload_applies_on_match(void **state)
{
    struct fixture *f = *state;
    struct bp_image image;
    char id[BP_ID_LEN + 1];
    make_pending(&image, NULL, "awaited.jpg", 8000);
    insert_one(f->store, &image, id);
    struct bp_error err = {{0}};
    struct bp_image got;

    /* Stop awaiting exactly the upload that expires at 8000. */
    struct bp_image_patch stop = {
        .set_upload = true, .if_upload = true, .if_upload_expires_at = 8000};
    assert_int_equal(
        bp_store_image_update(f->store, id, &stop, 2000, &got, &err), BP_OK);
    assert_ready(&got);
    assert_int_equal(got.updated_at, 2000);
    bp_image_clear(&got);
    assert_int_equal(
        bp_store_image_update(f->store, id, &stop, 2100, &got, &err),
        BP_ECONFLICT);
    assert_conflict(&err, id, "no longer awaits this upload");

    /* Await a new upload only while awaiting none. */
    struct bp_image_patch await = {.set_upload = true,
                                   .upload_filename = "next.jpg",
                                   .upload_expires_at = 9000,
                                   .if_upload = true};
    assert_int_equal(
        bp_store_image_update(f->store, id, &await, 3000, &got, &err), BP_OK);
    assert_string_equal(got.upload_filename, "next.jpg");
    assert_int_equal(got.upload_expires_at, 9000);
    bp_image_clear(&got);
    await.upload_filename = "racing.jpg";
    await.upload_expires_at = 9100;
    assert_int_equal(
        bp_store_image_update(f->store, id, &await, 3100, &got, &err),
        BP_ECONFLICT);
    assert_conflict(&err, id, "awaits an upload");
    assert_int_equal(bp_store_image_get(f->store, id, &got, &err), BP_OK);
    assert_string_equal(got.upload_filename, "next.jpg");
    assert_int_equal(got.upload_expires_at, 9000);
    assert_int_equal(got.updated_at, 3000);
    bp_image_clear(&got);
}

static void test_bp_store_image_update_if_upload_mismatch_keeps(void **state)
{
    struct fixture *f = *state;
    struct bp_image image;
    char id[BP_ID_LEN + 1];
    make_pending(&image, NULL, "awaited.jpg", 8000);
    insert_one(f->store, &image, id);
    struct bp_error err = {{0}};
    struct bp_image got;
    struct bp_image_patch patch = {.set_description = true,
                                   .description = "late",
                                   .set_upload = true,
                                   .if_upload = true,
                                   .if_upload_expires_at = 7000};
    assert_int_equal(
        bp_store_image_update(f->store, id, &patch, 2000, &got, &err),
        BP_ECONFLICT);
    assert_conflict(&err, id, "no longer awaits this upload");
    /* "Awaits none" does not match an awaited upload either. */
    patch.if_upload_expires_at = 0;
    assert_int_equal(
        bp_store_image_update(f->store, id, &patch, 2000, &got, &err),
        BP_ECONFLICT);
    assert_conflict(&err, id, "awaits an upload");
    assert_int_equal(bp_store_image_get(f->store, id, &got, &err), BP_OK);
    assert_null(got.description);
    bp_image_clear(&got);
    assert_still_pending(f->store, id, "awaited.jpg", 8000);

    /* Without if_upload the same patch applies. */
    patch.if_upload = false;
    assert_int_equal(
        bp_store_image_update(f->store, id, &patch, 2000, &got, &err), BP_OK);
    assert_string_equal(got.description, "late");
    assert_ready(&got);
    bp_image_clear(&got);

    char missing[BP_ID_LEN + 1];
    bp_id_new(missing);
    patch.if_upload = true;
    assert_int_equal(
        bp_store_image_update(f->store, missing, &patch, 1, &got, &err),
        BP_ENOTFOUND);
    assert_string_equal(err.detail, "Image with that ID not found");
}

static void test_bp_store_image_update_if_upload_and_move(void **state)
{
    struct fixture *f = *state;
    char group[BP_ID_LEN + 1], gone[BP_ID_LEN + 1], id[BP_ID_LEN + 1];
    insert(f->store, "target", NULL, 1, group);
    bp_id_new(gone);
    struct bp_image image;
    make_pending(&image, NULL, "awaited.jpg", 8000);
    insert_one(f->store, &image, id);
    struct bp_error err = {{0}};
    struct bp_image got;
    struct bp_image_patch move = {
        .set_group = true, .if_upload = true, .if_upload_expires_at = 8000};

    /* A missing group is not found, whether the condition holds or not. */
    memcpy(move.group, gone, sizeof(move.group));
    assert_int_equal(
        bp_store_image_update(f->store, id, &move, 2000, &got, &err),
        BP_ENOTFOUND);
    assert_string_equal(err.detail, "Group with that ID not found");
    move.if_upload_expires_at = 7000;
    assert_int_equal(
        bp_store_image_update(f->store, id, &move, 2000, &got, &err),
        BP_ENOTFOUND);
    assert_string_equal(err.detail, "Group with that ID not found");
    char missing[BP_ID_LEN + 1];
    bp_id_new(missing);
    assert_int_equal(
        bp_store_image_update(f->store, missing, &move, 2000, &got, &err),
        BP_ENOTFOUND);
    assert_string_equal(err.detail, "Image with that ID not found");

    /* An existing group: the condition decides. */
    memcpy(move.group, group, sizeof(move.group));
    assert_int_equal(
        bp_store_image_update(f->store, id, &move, 2000, &got, &err),
        BP_ECONFLICT);
    assert_conflict(&err, id, "no longer awaits this upload");
    assert_int_equal(bp_store_image_get(f->store, id, &got, &err), BP_OK);
    assert_string_equal(got.group, "");
    bp_image_clear(&got);
    assert_still_pending(f->store, id, "awaited.jpg", 8000);
    move.if_upload_expires_at = 8000;
    assert_int_equal(
        bp_store_image_update(f->store, id, &move, 2000, &got, &err), BP_OK);
    assert_string_equal(got.group, group);
    assert_int_equal(got.upload_expires_at, 8000);
    bp_image_clear(&got);
}

static void test_bp_store_image_delete_awaiting_deletes_on_match(void **state)
{
    struct fixture *f = *state;
    struct bp_image image;
    char id[BP_ID_LEN + 1];
    make_pending(&image, NULL, "never.jpg", 4242);
    insert_one(f->store, &image, id);
    struct bp_error err = {{0}};
    struct bp_image gone;
    assert_int_equal(
        bp_store_image_delete_awaiting(f->store, id, 4242, &gone, &err), BP_OK);
    assert_string_equal(gone.id, id);
    assert_pending_without_file(&gone, "never.jpg", 4242);
    bp_image_clear(&gone);
    assert_int_equal(bp_store_image_get(f->store, id, &gone, &err),
                     BP_ENOTFOUND);
    assert_int_equal(
        bp_store_image_delete_awaiting(f->store, id, 4242, &gone, &err),
        BP_ENOTFOUND);
    assert_string_equal(err.detail, "Image with that ID not found");
}

static void test_bp_store_image_delete_awaiting_refuses(void **state)
{
    struct fixture *f = *state;
    struct bp_image image;
    char pending[BP_ID_LEN + 1], replacing[BP_ID_LEN + 1];
    char ready[BP_ID_LEN + 1];
    make_pending(&image, NULL, "never.jpg", 4242);
    insert_one(f->store, &image, pending);
    insert_replacing(f->store, 9000, replacing);
    make_image(&image, NULL, "ready.jpg", 1, 0, 0, 0);
    insert_one(f->store, &image, ready);
    struct bp_error err = {{0}};
    struct bp_image gone;

    /* Another upload, or none. */
    assert_int_equal(
        bp_store_image_delete_awaiting(f->store, pending, 4241, &gone, &err),
        BP_ECONFLICT);
    assert_conflict(&err, pending, "no longer awaits this upload");
    assert_int_equal(
        bp_store_image_delete_awaiting(f->store, pending, 0, &gone, &err),
        BP_ECONFLICT);
    assert_still_pending(f->store, pending, "never.jpg", 4242);
    assert_int_equal(
        bp_store_image_delete_awaiting(f->store, ready, 0, &gone, &err),
        BP_ECONFLICT);

    /* An image with a file, even one that awaits exactly this upload. */
    assert_int_equal(
        bp_store_image_delete_awaiting(f->store, replacing, 9000, &gone, &err),
        BP_ECONFLICT);
    assert_conflict(&err, replacing, "has a file");
    struct bp_image got;
    assert_int_equal(bp_store_image_get(f->store, replacing, &got, &err),
                     BP_OK);
    assert_true(bp_image_has_file(&got));
    assert_int_equal(got.upload_expires_at, 9000);
    bp_image_clear(&got);

    /* Completed while the expiry was on its way: the file stays. */
    assert_int_equal(replace_file(f->store, pending, 4242, 5000, &err), BP_OK);
    assert_int_equal(
        bp_store_image_delete_awaiting(f->store, pending, 4242, &gone, &err),
        BP_ECONFLICT);
    assert_conflict(&err, pending, "has a file");
    assert_int_equal(bp_store_image_get(f->store, pending, &got, &err), BP_OK);
    assert_ready(&got);
    assert_string_equal(got.filename, "arrived.jpg");
    bp_image_clear(&got);

    /* The unconditional delete still takes any of them. */
    assert_int_equal(bp_store_image_delete(f->store, replacing, &gone, &err),
                     BP_OK);
    bp_image_clear(&gone);
}

static void test_bp_store_group_delete_returns_pending_images(void **state)
{
    struct fixture *f = *state;
    struct bp_group group;
    make_group(&group, "doomed");
    struct bp_image images[2];
    make_image(&images[0], group.id, "ready.jpg", 1, 0, 0, 0);
    make_pending(&images[1], group.id, "pending.jpg", 3000);
    struct bp_error err = {{0}};
    assert_int_equal(bp_store_images_insert(f->store, &group, images, 2, &err),
                     BP_OK);
    struct bp_group got;
    struct bp_image_list removed;
    assert_int_equal(
        bp_store_group_delete(f->store, group.id, &got, &removed, &err), BP_OK);
    assert_int_equal(removed.count, 2);
    assert_string_equal(removed.items[0].filename, "ready.jpg");
    assert_ready(&removed.items[0]);
    assert_string_equal(removed.items[1].id, images[1].id);
    assert_pending_without_file(&removed.items[1], "pending.jpg", 3000);
    bp_image_list_free(&removed);
    bp_group_clear(&got);
    struct bp_image gone;
    assert_int_equal(bp_store_image_get(f->store, images[1].id, &gone, &err),
                     BP_ENOTFOUND);
    clear_images(images, 2);
    bp_group_clear(&group);
}

#ifndef BP_CONTRACT_MONGO
/*
 * The schema at version 2 (migrations 1 and 2) as databases made before
 * presigned uploads have it, copied here so that later changes to the
 * program's migrations cannot change what "an old database" is.
 */
static const char v2_schema[] =
    "CREATE TABLE image_groups ("
    "  id TEXT PRIMARY KEY NOT NULL, name TEXT NOT NULL, description TEXT,"
    "  event TEXT, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);"
    "CREATE INDEX image_groups_created ON image_groups (created_at, id);"
    "CREATE INDEX image_groups_event ON image_groups (event, created_at, id);"
    "CREATE TABLE images ("
    "  id TEXT PRIMARY KEY NOT NULL,"
    "  group_id TEXT REFERENCES image_groups (id),"
    "  filename TEXT NOT NULL, description TEXT,"
    "  content_type TEXT NOT NULL, size INTEGER NOT NULL,"
    "  sha256 TEXT NOT NULL, width INTEGER NOT NULL, height INTEGER NOT NULL,"
    "  taken_at TEXT, taken_at_ms INTEGER, data TEXT NOT NULL,"
    "  latitude REAL, longitude REAL,"
    "  created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);"
    "CREATE INDEX images_group ON images (group_id, taken_at_ms);"
    "CREATE INDEX images_taken ON images (taken_at_ms);"
    "CREATE INDEX images_position ON images (latitude, longitude);"
    "INSERT INTO image_groups VALUES"
    "  ('5f0c1a2b3c4d5e6f70819203', 'old gig', NULL, NULL, 10, 10);"
    "INSERT INTO images VALUES ('5f0c1a2b3c4d5e6f70819aa1',"
    "  '5f0c1a2b3c4d5e6f70819203', 'old.jpg', 'from v2', 'image/jpeg', 77,"
    "  'abababababababababababababababababababababababababababababababab',"
    "  3, 4, '2020-09-13T12:26:40Z', 1600000000000, '{\"Make\":\"X\"}',"
    "  48.5, 2.25, 20, 30);";

/* Opens the fixture's database file directly (not through the store). */
static sqlite3 *open_raw(const struct fixture *f)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/data/bandpics.db", f->dir);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    return db;
}

/* Lays out the fixture's database file by hand: sql at user_version. */
static void write_old_database(const struct fixture *f, const char *sql,
                               int version)
{
    char dir[96];
    snprintf(dir, sizeof(dir), "%s/data", f->dir);
    assert_int_equal(mkdir(dir, 0750), 0);
    sqlite3 *db = open_raw(f);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    char pragma[64];
    snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d", version);
    assert_int_equal(sqlite3_exec(db, pragma, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

/* Returns the one integer that sql selects on db. */
static long long query_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *stmt = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &stmt, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    long long value = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    return value;
}

/* Returns true when the query plan of sql names the index. */
static bool plan_uses(sqlite3 *db, const char *sql, const char *index)
{
    char explain[512];
    snprintf(explain, sizeof(explain), "EXPLAIN QUERY PLAN %s", sql);
    sqlite3_stmt *stmt = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, explain, -1, &stmt, NULL),
                     SQLITE_OK);
    bool found = false;
    while (sqlite3_step(stmt) == SQLITE_ROW) {
        const char *detail = (const char *)sqlite3_column_text(stmt, 3);
        if (detail != NULL && strstr(detail, index) != NULL)
            found = true;
    }
    sqlite3_finalize(stmt);
    return found;
}

static void test_bp_store_sqlite_open_migrates_version_2(void **state)
{
    struct fixture *f = *state;
    write_old_database(f, v2_schema, 2);
    struct bp_error err = {{0}};
    assert_int_equal(bp_store_open(&f->cfg, &f->store, &err), BP_OK);

    /* The old row reads back whole, awaiting no upload. */
    struct bp_image got;
    assert_int_equal(
        bp_store_image_get(f->store, "5f0c1a2b3c4d5e6f70819aa1", &got, &err),
        BP_OK);
    assert_string_equal(got.filename, "old.jpg");
    assert_string_equal(got.description, "from v2");
    assert_string_equal(got.group, "5f0c1a2b3c4d5e6f70819203");
    assert_int_equal(got.size, 77);
    assert_int_equal(got.taken_at_ms, 1600000000000);
    assert_true(got.has_position);
    assert_string_equal(got.data_json, "{\"Make\":\"X\"}");
    assert_int_equal(got.updated_at, 30);
    assert_ready(&got);
    assert_true(bp_image_has_file(&got));
    /* Made before owners were kept: nobody's (an admin's to change). */
    assert_string_equal(got.owner, "");
    bp_image_clear(&got);

    /* The new columns work on the migrated table. */
    struct bp_image_patch await = {.set_upload = true,
                                   .upload_filename = "again.jpg",
                                   .upload_expires_at = 500};
    assert_int_equal(bp_store_image_update(f->store, "5f0c1a2b3c4d5e6f70819aa1",
                                           &await, 40, &got, &err),
                     BP_OK);
    assert_string_equal(got.upload_filename, "again.jpg");
    bp_image_clear(&got);
    struct bp_image_list list;
    list_expired(f->store, 501, &list);
    assert_int_equal(list.total, 1);
    bp_image_list_free(&list);

    sqlite3 *db = open_raw(f);
    assert_int_equal(query_int(db, "PRAGMA user_version"), 4);
    assert_int_equal(query_int(db, "SELECT count(*) FROM pragma_table_info("
                                   "'images') WHERE (name = 'upload_filename'"
                                   " AND \"notnull\" = 0) OR (name = "
                                   "'upload_expires_at' AND \"notnull\" = 1"
                                   " AND dflt_value = '0')"),
                     2);
    assert_int_equal(query_int(db, "SELECT count(*) FROM pragma_index_list("
                                   "'images') WHERE name = "
                                   "'images_upload_expires' AND partial = 1"),
                     1);
    /* The filter's WHERE terms (store_sqlite_images.c) use the index. */
    assert_true(plan_uses(db,
                          "SELECT count(*) FROM images WHERE 1"
                          " AND upload_expires_at != 0"
                          " AND upload_expires_at < 501",
                          "images_upload_expires"));
    sqlite3_close(db);
}

static void test_bp_store_sqlite_new_database_is_version_4(void **state)
{
    struct fixture *f = *state;
    sqlite3 *db = open_raw(f);
    assert_int_equal(query_int(db, "PRAGMA user_version"), 4);
    assert_int_equal(query_int(db, "SELECT count(*) FROM pragma_table_info("
                                   "'image_groups') WHERE name IN ('owner',"
                                   " 'location_hidden')"),
                     2);
    assert_int_equal(query_int(db, "SELECT count(*) FROM pragma_table_info("
                                   "'images') WHERE name = 'owner'"),
                     1);
    assert_int_equal(query_int(db, "SELECT count(*) FROM sqlite_schema"
                                   " WHERE name = 'api_keys'"),
                     1);
    assert_int_equal(query_int(db, "SELECT count(*) FROM pragma_index_list("
                                   "'images') WHERE name = "
                                   "'images_upload_expires' AND partial = 1"),
                     1);
    sqlite3_close(db);
}

static void test_bp_store_sqlite_open_refuses_newer_schema(void **state)
{
    struct fixture *f = *state;
    write_old_database(f, "CREATE TABLE future (x);", 99);
    struct bp_error err = {{0}};
    assert_int_equal(bp_store_open(&f->cfg, &f->store, &err), BP_EINVAL);
    assert_null(f->store);
    assert_non_null(strstr(err.detail, "newer"));
}
#endif

/* The contract: every test any backend must pass. */
#define CONTRACT_TESTS(setup)                                                  \
    cmocka_unit_test_setup_teardown(test_bp_store_group_insert_then_get,       \
                                    setup, teardown),                          \
        cmocka_unit_test_setup_teardown(                                       \
            test_bp_store_owners_and_location_round_trip, setup, teardown),    \
        cmocka_unit_test_setup_teardown(                                       \
            test_bp_store_keys_insert_get_list_revoke, setup, teardown),       \
        cmocka_unit_test_setup_teardown(test_bp_store_groups_detach_event,     \
                                        setup, teardown),                      \
        cmocka_unit_test_setup_teardown(                                       \
            test_bp_store_place_filters_skip_hidden_locations, setup,          \
            teardown),                                                         \
        cmocka_unit_test_setup_teardown(                                       \
            test_bp_store_group_insert_nulls_round_trip, setup, teardown),     \
        cmocka_unit_test_setup_teardown(                                       \
            test_bp_store_group_insert_duplicate_id, setup, teardown),         \
        cmocka_unit_test_setup_teardown(test_bp_store_group_get_missing,       \
                                        setup, teardown),                      \
        cmocka_unit_test_setup_teardown(                                       \
            test_bp_store_group_list_newest_first_with_paging, setup,          \
            teardown),                                                         \
        cmocka_unit_test_setup_teardown(                                       \
            test_bp_store_group_list_same_time_ordered_by_id, setup,           \
            teardown),                                                         \
        cmocka_unit_test_setup_teardown(test_bp_store_group_list_event_filter, \
                                        setup, teardown),                      \
        cmocka_unit_test_setup_teardown(test_bp_store_group_update_partial,    \
                                        setup, teardown),                      \
        cmocka_unit_test_setup_teardown(test_bp_store_group_update_missing,    \
                                        setup, teardown),                      \
        cmocka_unit_test_setup_teardown(                                       \
            test_bp_store_group_delete_returns_and_removes, setup, teardown),  \
        cmocka_unit_test_setup_teardown(test_bp_store_ping_answers, setup,     \
                                        teardown),                             \
        cmocka_unit_test_setup_teardown(test_bp_store_open_twice_keeps_data,   \
                                        setup, teardown),                      \
        cmocka_unit_test_setup_teardown(                                       \
            test_bp_store_images_insert_with_new_group, setup, teardown),      \
        cmocka_unit_test_setup_teardown(                                       \
            test_bp_store_images_insert_is_all_or_nothing, setup, teardown),   \
        cmocka_unit_test_setup_teardown(test_bp_store_image_list_filters,      \
                                        setup, teardown),                      \
        cmocka_unit_test_setup_teardown(test_bp_store_image_update_and_move,   \
                                        setup, teardown),                      \
        cmocka_unit_test_setup_teardown(                                       \
            test_bp_store_image_replace_file_keeps_metadata, setup, teardown), \
        cmocka_unit_test_setup_teardown(                                       \
            test_bp_store_group_delete_takes_its_images, setup, teardown),     \
        cmocka_unit_test_setup_teardown(                                       \
            test_bp_store_images_insert_pending_round_trips, setup, teardown), \
        cmocka_unit_test_setup_teardown(                                       \
            test_bp_store_image_list_upload_expired_before, setup, teardown),  \
        cmocka_unit_test_setup_teardown(                                       \
            test_bp_store_image_update_sets_and_stops_upload, setup,           \
            teardown),                                                         \
        cmocka_unit_test_setup_teardown(                                       \
            test_bp_store_image_replace_file_completes_upload, setup,          \
            teardown),                                                         \
        cmocka_unit_test_setup_teardown(                                       \
            test_bp_store_image_delete_returns_upload, setup, teardown),       \
        cmocka_unit_test_setup_teardown(                                       \
            test_bp_store_group_delete_returns_pending_images, setup,          \
            teardown),                                                         \
        cmocka_unit_test_setup_teardown(                                       \
            test_bp_store_image_replace_file_if_awaited_conflicts, setup,      \
            teardown),                                                         \
        cmocka_unit_test_setup_teardown(                                       \
            test_bp_store_image_replace_file_without_expiry_always, setup,     \
            teardown),                                                         \
        cmocka_unit_test_setup_teardown(                                       \
            test_bp_store_image_update_if_upload_applies_on_match, setup,      \
            teardown),                                                         \
        cmocka_unit_test_setup_teardown(                                       \
            test_bp_store_image_update_if_upload_mismatch_keeps, setup,        \
            teardown),                                                         \
        cmocka_unit_test_setup_teardown(                                       \
            test_bp_store_image_update_if_upload_and_move, setup, teardown),   \
        cmocka_unit_test_setup_teardown(                                       \
            test_bp_store_image_delete_awaiting_deletes_on_match, setup,       \
            teardown),                                                         \
        cmocka_unit_test_setup_teardown(                                       \
            test_bp_store_image_delete_awaiting_refuses, setup, teardown)

#ifdef BP_CONTRACT_MONGO
int main(void)
{
    if (getenv("BANDPICS_TEST_MONGODB_URI") == NULL) {
        /* A whole-file skip: automake's TAP driver reports SKIP. */
        printf("1..0 # SKIP set BANDPICS_TEST_MONGODB_URI to run the store "
               "contract against MongoDB\n");
        return 0;
    }
    mongoc_init();
    const struct CMUnitTest mongo_tests[] = {CONTRACT_TESTS(setup_mongo)};
    int failed =
        cmocka_run_group_tests_name("store_mongo", mongo_tests, NULL, NULL);
    mongoc_cleanup();
    return failed;
}
#else
int main(void)
{
    const struct CMUnitTest sqlite_tests[] = {
        CONTRACT_TESTS(setup_sqlite),
        cmocka_unit_test_setup_teardown(
            test_bp_store_open_rejects_unknown_scheme, setup_sqlite, teardown),
        cmocka_unit_test_setup_teardown(
            test_bp_store_open_unwritable_is_unavailable, setup_sqlite,
            teardown),
        cmocka_unit_test_setup_teardown(
            test_bp_store_sqlite_open_migrates_version_2, setup_sqlite_config,
            teardown),
        cmocka_unit_test_setup_teardown(
            test_bp_store_sqlite_new_database_is_version_4, setup_sqlite,
            teardown),
        cmocka_unit_test_setup_teardown(
            test_bp_store_sqlite_open_refuses_newer_schema, setup_sqlite_config,
            teardown),
    };
    return cmocka_run_group_tests_name("store_sqlite", sqlite_tests, NULL,
                                       NULL);
}
#endif
