/* test_principal.c: roles, the ownership rules, and API key texts. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "model/api_key.h"
#include "model/principal.h"

static struct bp_principal as(enum bp_role role, const char *id)
{
    struct bp_principal p = {.role = role, .kind = ""};
    snprintf(p.id, sizeof(p.id), "%s", id);
    return p;
}

static void test_bp_role_parse_names(void **state)
{
    enum bp_role role = BP_ROLE_ANONYMOUS;
    assert_true(bp_role_parse("contributor", &role));
    assert_int_equal(role, BP_ROLE_CONTRIBUTOR);
    assert_false(bp_role_parse("anonymous", &role)); /* never stored */
    assert_false(bp_role_parse("Admin", &role));
    assert_false(bp_role_parse(NULL, &role));
    assert_string_equal(bp_role_name(BP_ROLE_ADMIN), "admin");
}

static void test_bp_principal_may_change_table(void **state)
{
    struct {
        struct bp_principal who;
        const char *owner;
        bool change, create, sees;
    } cases[] = {
        {as(BP_ROLE_ANONYMOUS, ""), "u1", false, false, false},
        {as(BP_ROLE_ANONYMOUS, ""), "", false, false, false},
        {as(BP_ROLE_READER, "u1"), "u1", false, false, true},
        {as(BP_ROLE_CONTRIBUTOR, "u1"), "u1", true, true, true},
        {as(BP_ROLE_CONTRIBUTOR, "u2"), "u1", false, true, false},
        {as(BP_ROLE_CONTRIBUTOR, "u1"), "", false, true, false},
        {as(BP_ROLE_ADMIN, "a"), "u1", true, true, true},
        {as(BP_ROLE_ADMIN, ""), "", true, true, true},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(bp_principal_may_change(&cases[i].who, cases[i].owner),
                         cases[i].change);
        assert_int_equal(bp_principal_may_create(&cases[i].who),
                         cases[i].create);
        assert_int_equal(
            bp_principal_sees_private(&cases[i].who, cases[i].owner),
            cases[i].sees);
    }
}

static void test_bp_api_key_new_split_accepts(void **state)
{
    struct bp_api_key key;
    char text[BP_API_KEY_TEXT_LEN + 1];
    struct bp_error err = {{0}};
    assert_int_equal(
        bp_api_key_new("ci", BP_ROLE_READER, 1000, 5000, &key, text, &err),
        BP_OK);
    assert_int_equal(strlen(text), BP_API_KEY_TEXT_LEN);
    assert_memory_equal(text, "bpk_", 4);
    char id[BP_ID_LEN + 1], secret[BP_API_KEY_SECRET_LEN + 1];
    assert_true(bp_api_key_split(text, id, secret));
    assert_string_equal(id, key.id);
    /* Only the hash is kept: the secret is not in the record. */
    assert_null(memmem(&key, sizeof(key), secret, BP_API_KEY_SECRET_LEN));
    assert_true(bp_api_key_accepts(&key, secret, 4999));
    assert_false(bp_api_key_accepts(&key, secret, 5000)); /* expired */
    secret[0] = secret[0] == '0' ? '1' : '0';
    assert_false(bp_api_key_accepts(&key, secret, 2000));
    key.revoked_at = 1;
    secret[0] = text[4 + BP_ID_LEN];
    assert_false(bp_api_key_accepts(&key, secret, 2000));
    /* Malformed texts. */
    char upper[BP_API_KEY_TEXT_LEN + 1];
    memcpy(upper, text, sizeof(upper));
    upper[10] = 'A';
    assert_false(bp_api_key_split(upper, id, secret));
    assert_false(bp_api_key_split("bpk_short", id, secret));
    text[3] = '-';
    assert_false(bp_api_key_split(text, id, secret));
    /* Bad names and roles. */
    assert_int_equal(bp_api_key_new("", BP_ROLE_ADMIN, 0, 0, &key, text, &err),
                     BP_EINVAL);
    assert_int_equal(
        bp_api_key_new("tab\there", BP_ROLE_ADMIN, 0, 0, &key, text, &err),
        BP_EINVAL);
    assert_int_equal(
        bp_api_key_new("x", BP_ROLE_ANONYMOUS, 0, 0, &key, text, &err),
        BP_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bp_role_parse_names),
        cmocka_unit_test(test_bp_principal_may_change_table),
        cmocka_unit_test(test_bp_api_key_new_split_accepts),
    };
    return cmocka_run_group_tests_name("principal", tests, NULL, NULL);
}
