/*
 * test_store.c: the store contract. Every backend must pass the same
 * suite; this binary runs it against SQLite in a temporary directory
 * (and is where other backends join, one group per backend).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "ids.h"
#include "store.h"

struct fixture {
    char dir[64];
    struct bp_config cfg;
    struct bp_store *store;
};

static int setup_sqlite(void **state)
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
    assert_int_equal(bp_store_open(&f->cfg, &f->store, &err), BP_OK);
    *state = f;
    return 0;
}

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
    struct bp_error err = {{0}};
    assert_int_equal(bp_store_group_delete(f->store, id, &got, &err), BP_OK);
    assert_string_equal(got.name, "doomed");
    bp_group_clear(&got);
    assert_int_equal(bp_store_group_get(f->store, id, &got, &err),
                     BP_ENOTFOUND);
    assert_int_equal(bp_store_group_delete(f->store, id, &got, &err),
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
    assert_string_equal(bp_store_name(second), "sqlite");
    bp_store_close(second);
}

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

#define CONTRACT_TEST(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
#define setup setup_sqlite
    const struct CMUnitTest sqlite_tests[] = {
        CONTRACT_TEST(test_bp_store_group_insert_then_get),
        CONTRACT_TEST(test_bp_store_group_insert_nulls_round_trip),
        CONTRACT_TEST(test_bp_store_group_insert_duplicate_id),
        CONTRACT_TEST(test_bp_store_group_get_missing),
        CONTRACT_TEST(test_bp_store_group_list_newest_first_with_paging),
        CONTRACT_TEST(test_bp_store_group_list_same_time_ordered_by_id),
        CONTRACT_TEST(test_bp_store_group_list_event_filter),
        CONTRACT_TEST(test_bp_store_group_update_partial),
        CONTRACT_TEST(test_bp_store_group_update_missing),
        CONTRACT_TEST(test_bp_store_group_delete_returns_and_removes),
        CONTRACT_TEST(test_bp_store_ping_answers),
        CONTRACT_TEST(test_bp_store_open_twice_keeps_data),
        CONTRACT_TEST(test_bp_store_open_rejects_unknown_scheme),
        CONTRACT_TEST(test_bp_store_open_unwritable_is_unavailable),
    };
#undef setup
    return cmocka_run_group_tests_name("store_sqlite", sqlite_tests, NULL,
                                       NULL);
}
