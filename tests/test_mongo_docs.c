/*
 * test_mongo_docs.c: the documents of the MongoDB backend, checked as
 * relaxed extended JSON against what the server is meant to receive:
 * records to documents and back, filters (group, capture time, bounding
 * box, across the antimeridian, distance, expired awaited uploads), sorts
 * and paging, updates (with null clears, awaiting and ending uploads),
 * the filters of conditional writes (an awaited upload, no file yet)
 * and the index specs. No server needed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "model/image_json.h"
#include "store/mongo_docs.h"

#define GROUP_ID "5f0c1a2b3c4d5e6f70819203"
#define IMAGE_ID "5f0c1a2b3c4d5e6f70819aa1"
#define EVENT_ID "5f0c1a2b3c4d5e6f70819bb2"
#define T0 1600000000000LL /* 2020-09-13T12:26:40Z */
#define T0_JSON "{ \"$date\" : \"2020-09-13T12:26:40Z\" }"
#define T1 1600000000123LL
#define T1_JSON "{ \"$date\" : \"2020-09-13T12:26:40.123Z\" }"
#define T2 1600000900000LL /* T0 + 15 min */
#define T2_JSON "{ \"$date\" : \"2020-09-13T12:41:40Z\" }"

/* Checks that doc reads as expected in relaxed extended JSON, frees it. */
static void assert_json(bson_t *doc, const char *expected)
{
    char *json = bson_as_relaxed_extended_json(doc, NULL);
    assert_non_null(json);
    if (strcmp(json, expected) != 0)
        print_error("got      %s\nexpected %s\n", json, expected);
    assert_string_equal(json, expected);
    bson_free(json);
    bson_destroy(doc);
}

/* An image with every field set, its data with numbers of each kind. */
static struct bp_image sample_image(void)
{
    struct bp_image image = {
        .id = IMAGE_ID,
        .group = GROUP_ID,
        .filename = (char *)"a.jpg",
        .description = (char *)"Sunset",
        .content_type = (char *)"image/jpeg",
        .size = 5000000000LL,
        .sha256 = "ab",
        .width = 4000,
        .height = 3000,
        .taken_at = "2020-09-13T14:26:40+02:00",
        .has_taken_at_ms = true,
        .taken_at_ms = T0,
        .data_json = (char *)"{\"Make\":\"X\",\"Orientation\":6,"
                             "\"coords\":{\"latitude\":48.8125,"
                             "\"longitude\":2.25}}",
        .has_position = true,
        .latitude = 48.8125,
        .longitude = 2.25,
        .created_at = T0,
        .updated_at = T1,
    };
    return image;
}

#define SAMPLE_FILE_FIELDS_JSON                                                \
    "\"filename\" : \"a.jpg\", \"content_type\" : \"image/jpeg\", "            \
    "\"size\" : 5000000000, \"sha256\" : \"ab\", \"width\" : 4000, "           \
    "\"height\" : 3000, \"taken_at\" : \"2020-09-13T14:26:40+02:00\", "        \
    "\"taken_at_ms\" : " T0_JSON ", \"has_taken_at\" : 1, "                    \
    "\"data\" : { \"Make\" : \"X\", \"Orientation\" : 6, \"coords\" : "        \
    "{ \"latitude\" : 48.8125, \"longitude\" : 2.25 } }"
#define SAMPLE_LOCATION_JSON                                                   \
    "\"location\" : { \"type\" : \"Point\", \"coordinates\" : "                \
    "[ 2.25, 48.8125 ] }"

static void test_bp_mongo_oid_parses_lower_hex(void **state)
{
    (void)state;
    bson_oid_t oid;
    char back[BP_ID_LEN + 1];
    assert_true(bp_mongo_oid(GROUP_ID, &oid));
    bson_oid_to_string(&oid, back);
    assert_string_equal(back, GROUP_ID);
}

static void test_bp_mongo_oid_rejects_malformed(void **state)
{
    (void)state;
    bson_oid_t oid;
    assert_false(bp_mongo_oid(NULL, &oid));
    assert_false(bp_mongo_oid("", &oid));
    assert_false(bp_mongo_oid("5f0c1a2b3c4d5e6f7081920", &oid));
    assert_false(bp_mongo_oid("5f0c1a2b3c4d5e6f70819203a", &oid));
    assert_false(bp_mongo_oid("zf0c1a2b3c4d5e6f70819203", &oid));
}

static void test_bp_mongo_id_filter_valid(void **state)
{
    (void)state;
    bson_t doc;
    assert_int_equal(bp_mongo_id_filter(IMAGE_ID, &doc), BP_OK);
    assert_json(&doc, "{ \"_id\" : { \"$oid\" : \"" IMAGE_ID "\" } }");
}

static void test_bp_mongo_id_filter_malformed(void **state)
{
    (void)state;
    bson_t doc;
    assert_int_equal(bp_mongo_id_filter("nope", &doc), BP_EINVAL);
    bson_destroy(&doc);
}

static void test_bp_mongo_ids_filter_strided_records(void **state)
{
    (void)state;
    struct bp_image images[2] = {{.id = IMAGE_ID}, {.id = GROUP_ID}};
    bson_t doc;
    assert_int_equal(
        bp_mongo_ids_filter(images[0].id, sizeof(images[0]), 2, &doc), BP_OK);
    assert_json(&doc, "{ \"_id\" : { \"$in\" : [ { \"$oid\" : \"" IMAGE_ID
                      "\" }, { \"$oid\" : \"" GROUP_ID "\" } ] } }");
}

static void test_bp_mongo_data_from_json_keeps_number_kinds(void **state)
{
    (void)state;
    bson_t doc;
    assert_int_equal(bp_mongo_data_from_json("{\"i\":6,\"big\":5000000000,"
                                             "\"d\":1.5,\"whole\":3.0,"
                                             "\"s\":\"a/b\",\"n\":null,"
                                             "\"b\":true,\"a\":[1,\"x\"]}",
                                             &doc),
                     BP_OK);
    assert_json(&doc, "{ \"i\" : 6, \"big\" : 5000000000, \"d\" : 1.5, "
                      "\"whole\" : 3.0, \"s\" : \"a/b\", \"n\" : null, "
                      "\"b\" : true, \"a\" : [ 1, \"x\" ] }");
}

static void test_bp_mongo_data_from_json_types_in_canonical_form(void **state)
{
    (void)state;
    bson_t doc;
    assert_int_equal(
        bp_mongo_data_from_json("{\"i\":6,\"big\":5000000000,\"d\":1.5}", &doc),
        BP_OK);
    char *json = bson_as_canonical_extended_json(&doc, NULL);
    assert_string_equal(json, "{ \"i\" : { \"$numberInt\" : \"6\" }, "
                              "\"big\" : { \"$numberLong\" : \"5000000000\" }, "
                              "\"d\" : { \"$numberDouble\" : \"1.5\" } }");
    bson_free(json);
    bson_destroy(&doc);
}

static void test_bp_mongo_data_from_json_rejects_non_object(void **state)
{
    (void)state;
    bson_t doc;
    assert_int_equal(bp_mongo_data_from_json("[1]", &doc), BP_EINVAL);
    bson_destroy(&doc);
    assert_int_equal(bp_mongo_data_from_json("{", &doc), BP_EINVAL);
    bson_destroy(&doc);
    assert_int_equal(bp_mongo_data_from_json(NULL, &doc), BP_EINVAL);
    bson_destroy(&doc);
}

/* Converts text to BSON and back; returns the JSON (caller frees). */
static char *round_trip(const char *text)
{
    bson_t doc;
    char *back = NULL;
    assert_int_equal(bp_mongo_data_from_json(text, &doc), BP_OK);
    assert_int_equal(bp_mongo_data_to_json(&doc, &back), BP_OK);
    bson_destroy(&doc);
    return back;
}

static void test_bp_mongo_data_to_json_round_trips_image_data(void **state)
{
    (void)state;
    /* The data the SQLite backend stores comes out byte for byte. */
    struct bp_exif_info info = {
        .make = "Make/Model",
        .orientation = 6,
        .coords = {.has_position = true,
                   .latitude = 48.8584,
                   .longitude = -2.2945,
                   .has_altitude = true,
                   .altitude = 35.5},
    };
    memcpy(info.date_time_original, "2024-05-01T20:15:03", 20);
    char *data = bp_image_data_json(&info);
    assert_non_null(data);
    char *back = round_trip(data);
    assert_string_equal(back, data);
    free(back);
    free(data);
}

static void test_bp_mongo_data_to_json_keeps_kinds_and_nesting(void **state)
{
    (void)state;
    char *back = round_trip("{\"a\":[1,2.5,\"x/y\",null,true,{\"b\":-7}],"
                            "\"big\":5000000000,\"whole\":3.0,\"e\":{}}");
    assert_string_equal(back, "{\"a\":[1,2.5,\"x/y\",null,true,{\"b\":-7}],"
                              "\"big\":5000000000,\"whole\":3.0,\"e\":{}}");
    free(back);
    back = round_trip("{}");
    assert_string_equal(back, "{}");
    free(back);
}

static void test_bp_mongo_group_doc_nulls(void **state)
{
    (void)state;
    struct bp_group group = {.id = GROUP_ID,
                             .name = (char *)"Trip",
                             .created_at = T0,
                             .updated_at = T1};
    bson_t doc;
    assert_int_equal(bp_mongo_group_doc(&group, &doc), BP_OK);
    assert_json(&doc, "{ \"_id\" : { \"$oid\" : \"" GROUP_ID "\" }, "
                      "\"name\" : \"Trip\", \"description\" : null, "
                      "\"event\" : null, \"created_at\" : " T0_JSON ", "
                      "\"updated_at\" : " T1_JSON " }");
}

static void test_bp_mongo_group_doc_with_event(void **state)
{
    (void)state;
    struct bp_group group = {.id = GROUP_ID,
                             .name = (char *)"Trip",
                             .description = (char *)"",
                             .event = EVENT_ID,
                             .created_at = T0,
                             .updated_at = T0};
    bson_t doc;
    assert_int_equal(bp_mongo_group_doc(&group, &doc), BP_OK);
    assert_json(&doc, "{ \"_id\" : { \"$oid\" : \"" GROUP_ID "\" }, "
                      "\"name\" : \"Trip\", \"description\" : \"\", "
                      "\"event\" : { \"$oid\" : \"" EVENT_ID "\" }, "
                      "\"created_at\" : " T0_JSON ", "
                      "\"updated_at\" : " T0_JSON " }");
}

static void test_bp_mongo_group_doc_malformed_event(void **state)
{
    (void)state;
    struct bp_group group = {
        .id = GROUP_ID, .name = (char *)"Trip", .event = "xyz"};
    bson_t doc;
    assert_int_equal(bp_mongo_group_doc(&group, &doc), BP_EINVAL);
    bson_destroy(&doc);
}

static void test_bp_mongo_group_from_doc_round_trips(void **state)
{
    (void)state;
    struct bp_group group = {.id = GROUP_ID,
                             .name = (char *)"Trip",
                             .description = (char *)"Words",
                             .event = EVENT_ID,
                             .created_at = T0,
                             .updated_at = T1};
    bson_t doc;
    struct bp_group back;
    assert_int_equal(bp_mongo_group_doc(&group, &doc), BP_OK);
    assert_int_equal(bp_mongo_group_from_doc(&doc, &back), BP_OK);
    assert_string_equal(back.id, GROUP_ID);
    assert_string_equal(back.name, "Trip");
    assert_string_equal(back.description, "Words");
    assert_string_equal(back.event, EVENT_ID);
    assert_int_equal(back.created_at, T0);
    assert_int_equal(back.updated_at, T1);
    bp_group_clear(&back);
    bson_destroy(&doc);
}

static void test_bp_mongo_group_doc_owner_and_location(void **state)
{
    (void)state;
    struct bp_group group = {.id = GROUP_ID,
                             .name = (char *)"Trip",
                             .created_at = T0,
                             .updated_at = T1,
                             .owner = "sub-1",
                             .location_hidden = true};
    bson_t doc;
    struct bp_group back;
    assert_int_equal(bp_mongo_group_doc(&group, &doc), BP_OK);
    assert_int_equal(bp_mongo_group_from_doc(&doc, &back), BP_OK);
    assert_string_equal(back.owner, "sub-1");
    assert_true(back.location_hidden);
    bp_group_clear(&back);
    assert_json(&doc, "{ \"_id\" : { \"$oid\" : \"" GROUP_ID "\" }, "
                      "\"name\" : \"Trip\", \"description\" : null, "
                      "\"event\" : null, \"created_at\" : " T0_JSON ", "
                      "\"updated_at\" : " T1_JSON ", \"owner\" : \"sub-1\", "
                      "\"location\" : \"hidden\" }");
    struct bp_group_patch patch = {.set_location = true,
                                   .location_hidden = false};
    assert_int_equal(bp_mongo_group_update(&patch, T1, &doc), BP_OK);
    assert_json(&doc, "{ \"$set\" : { \"location\" : \"public\", "
                      "\"updated_at\" : " T1_JSON " } }");
}

static void test_bp_mongo_image_owner_round_trips(void **state)
{
    (void)state;
    struct bp_image image = sample_image();
    memcpy(image.owner, "sub-2", 6);
    bson_t doc;
    struct bp_image back;
    assert_int_equal(bp_mongo_image_doc(&image, &doc), BP_OK);
    assert_int_equal(bp_mongo_image_from_doc(&doc, &back), BP_OK);
    assert_string_equal(back.owner, "sub-2");
    bp_image_clear(&back);
    bson_destroy(&doc);
}

static void test_bp_mongo_detach_event(void **state)
{
    (void)state;
    bson_t filter, update;
    assert_int_equal(
        bp_mongo_detach_event(EVENT_ID, "sub-1", T1, &filter, &update), BP_OK);
    assert_json(&filter, "{ \"event\" : { \"$oid\" : \"" EVENT_ID "\" }, "
                         "\"owner\" : \"sub-1\" }");
    assert_json(&update,
                "{ \"$set\" : { \"event\" : null, \"updated_at\" : " T1_JSON
                " } }");
    assert_int_equal(bp_mongo_detach_event("nope", NULL, T1, &filter, &update),
                     BP_EINVAL);
    bson_destroy(&filter);
    bson_destroy(&update);
}

static void test_bp_mongo_key_doc_round_trips(void **state)
{
    (void)state;
    struct bp_api_key key = {.id = GROUP_ID,
                             .name = "deploy",
                             .role = BP_ROLE_CONTRIBUTOR,
                             .created_at = T0,
                             .expires_at = T1,
                             .revoked_at = 0};
    memset(key.secret_sha256, 'c', 64);
    bson_t doc;
    assert_int_equal(bp_mongo_key_doc(&key, &doc), BP_OK);
    struct bp_api_key back;
    assert_int_equal(bp_mongo_key_from_doc(&doc, &back), BP_OK);
    assert_memory_equal(&back, &key, sizeof(key));
    bson_destroy(&doc);

    /* An unknown role may do nothing; a document without a hash fails. */
    bson_error_t error;
    bson_t *odd = bson_new_from_json(
        (const uint8_t *)"{\"_id\":{\"$oid\":\"" GROUP_ID "\"},"
                         "\"role\":\"root\",\"secret_sha256\":\""
                         "cccccccccccccccccccccccccccccccc"
                         "cccccccccccccccccccccccccccccccc\"}",
        -1, &error);
    assert_non_null(odd);
    assert_int_equal(bp_mongo_key_from_doc(odd, &back), BP_OK);
    assert_int_equal(back.role, BP_ROLE_ANONYMOUS);
    bson_destroy(odd);
    odd = bson_new_from_json(
        (const uint8_t *)"{\"_id\":{\"$oid\":\"" GROUP_ID "\"}}", -1, &error);
    assert_int_equal(bp_mongo_key_from_doc(odd, &back), BP_OK);
    assert_string_equal(back.secret_sha256, "");
    bson_destroy(odd);
    odd = bson_new_from_json((const uint8_t *)"{\"name\":\"x\"}", -1, &error);
    assert_int_equal(bp_mongo_key_from_doc(odd, &back), BP_EINTERNAL);
    bson_destroy(odd);
}

static void test_bp_mongo_group_from_doc_null_fields(void **state)
{
    (void)state;
    bson_error_t error;
    bson_t *doc = bson_new_from_json(
        (const uint8_t *)"{\"_id\":{\"$oid\":\"" GROUP_ID "\"},"
                         "\"name\":\"T\",\"description\":null,\"event\":null,"
                         "\"created_at\":{\"$date\":1600000000000}}",
        -1, &error);
    assert_non_null(doc);
    struct bp_group back;
    assert_int_equal(bp_mongo_group_from_doc(doc, &back), BP_OK);
    assert_null(back.description);
    assert_string_equal(back.event, "");
    assert_int_equal(back.created_at, T0);
    bp_group_clear(&back);
    bson_destroy(doc);
}

static void test_bp_mongo_group_from_doc_missing_name(void **state)
{
    (void)state;
    bson_error_t error;
    bson_t *doc = bson_new_from_json(
        (const uint8_t *)"{\"_id\":{\"$oid\":\"" GROUP_ID "\"}}", -1, &error);
    assert_non_null(doc);
    struct bp_group back;
    assert_int_equal(bp_mongo_group_from_doc(doc, &back), BP_EINTERNAL);
    bson_destroy(doc);
}

static void test_bp_mongo_group_filter_all(void **state)
{
    (void)state;
    struct bp_group_query query = {.limit = 10};
    bson_t doc;
    assert_int_equal(bp_mongo_group_filter(&query, &doc), BP_OK);
    assert_json(&doc, "{ }");
}

static void test_bp_mongo_group_filter_event(void **state)
{
    (void)state;
    struct bp_group_query query = {.event = EVENT_ID, .limit = 10};
    bson_t doc;
    assert_int_equal(bp_mongo_group_filter(&query, &doc), BP_OK);
    assert_json(&doc, "{ \"event\" : { \"$oid\" : \"" EVENT_ID "\" } }");
}

static void test_bp_mongo_group_find_opts_newest_first_paged(void **state)
{
    (void)state;
    struct bp_group_query query = {.limit = 10, .offset = 20};
    bson_t doc;
    assert_int_equal(bp_mongo_group_find_opts(&query, &doc), BP_OK);
    assert_json(&doc, "{ \"sort\" : { \"created_at\" : -1, \"_id\" : -1 }, "
                      "\"skip\" : 20, \"limit\" : 10 }");
}

static void test_bp_mongo_group_update_patch_with_null_clears(void **state)
{
    (void)state;
    struct bp_group_patch patch = {.set_name = true,
                                   .name = "New",
                                   .set_description = true,
                                   .description = NULL,
                                   .set_event = true,
                                   .event = ""};
    bson_t doc;
    assert_int_equal(bp_mongo_group_update(&patch, T1, &doc), BP_OK);
    assert_json(&doc, "{ \"$set\" : { \"name\" : \"New\", "
                      "\"description\" : null, \"event\" : null, "
                      "\"updated_at\" : " T1_JSON " } }");
}

static void test_bp_mongo_group_update_sets_only_patched(void **state)
{
    (void)state;
    struct bp_group_patch patch = {.set_event = true, .event = EVENT_ID};
    bson_t doc;
    assert_int_equal(bp_mongo_group_update(&patch, T1, &doc), BP_OK);
    assert_json(&doc, "{ \"$set\" : { \"event\" : { \"$oid\" : \"" EVENT_ID
                      "\" }, \"updated_at\" : " T1_JSON " } }");
}

static void test_bp_mongo_image_doc_full(void **state)
{
    (void)state;
    struct bp_image image = sample_image();
    bson_t doc;
    assert_int_equal(bp_mongo_image_doc(&image, &doc), BP_OK);
    assert_json(&doc, "{ \"_id\" : { \"$oid\" : \"" IMAGE_ID "\" }, "
                      "\"group\" : { \"$oid\" : \"" GROUP_ID "\" }, "
                      "\"description\" : \"Sunset\", " SAMPLE_FILE_FIELDS_JSON
                      ", " SAMPLE_LOCATION_JSON ", \"status\" : \"ready\", "
                      "\"created_at\" : " T0_JSON ", "
                      "\"updated_at\" : " T1_JSON " }");
}

static void test_bp_mongo_image_doc_without_optionals(void **state)
{
    (void)state;
    struct bp_image image = {.id = IMAGE_ID,
                             .filename = (char *)"b.png",
                             .content_type = (char *)"image/png",
                             .size = 10,
                             .sha256 = "cd",
                             .width = 1,
                             .height = 2,
                             .data_json = (char *)"{}",
                             .created_at = T0,
                             .updated_at = T0};
    bson_t doc;
    assert_int_equal(bp_mongo_image_doc(&image, &doc), BP_OK);
    assert_json(
        &doc, "{ \"_id\" : { \"$oid\" : \"" IMAGE_ID "\" }, "
              "\"group\" : null, \"description\" : null, "
              "\"filename\" : \"b.png\", \"content_type\" : \"image/png\", "
              "\"size\" : 10, \"sha256\" : \"cd\", \"width\" : 1, "
              "\"height\" : 2, \"taken_at\" : null, \"taken_at_ms\" : null, "
              "\"has_taken_at\" : 0, \"data\" : {  }, \"status\" : \"ready\", "
              "\"created_at\" : " T0_JSON ", \"updated_at\" : " T0_JSON " }");
}

static void test_bp_mongo_image_doc_bad_data(void **state)
{
    (void)state;
    struct bp_image image = sample_image();
    image.data_json = (char *)"not json";
    bson_t doc;
    assert_int_equal(bp_mongo_image_doc(&image, &doc), BP_EINVAL);
    bson_destroy(&doc);
}

static void test_bp_mongo_image_from_doc_round_trips(void **state)
{
    (void)state;
    struct bp_image image = sample_image();
    bson_t doc;
    struct bp_image back;
    assert_int_equal(bp_mongo_image_doc(&image, &doc), BP_OK);
    assert_int_equal(bp_mongo_image_from_doc(&doc, &back), BP_OK);
    assert_string_equal(back.id, IMAGE_ID);
    assert_string_equal(back.group, GROUP_ID);
    assert_string_equal(back.filename, "a.jpg");
    assert_string_equal(back.description, "Sunset");
    assert_string_equal(back.content_type, "image/jpeg");
    assert_int_equal(back.size, 5000000000LL);
    assert_string_equal(back.sha256, "ab");
    assert_int_equal(back.width, 4000);
    assert_int_equal(back.height, 3000);
    assert_string_equal(back.taken_at, "2020-09-13T14:26:40+02:00");
    assert_true(back.has_taken_at_ms);
    assert_int_equal(back.taken_at_ms, T0);
    assert_string_equal(back.data_json, image.data_json);
    assert_true(back.has_position);
    assert_float_equal(back.latitude, 48.8125, 0);
    assert_float_equal(back.longitude, 2.25, 0);
    assert_int_equal(back.created_at, T0);
    assert_int_equal(back.updated_at, T1);
    bp_image_clear(&back);
    bson_destroy(&doc);
}

static void test_bp_mongo_image_from_doc_missing_optionals(void **state)
{
    (void)state;
    bson_error_t error;
    bson_t *doc = bson_new_from_json(
        (const uint8_t *)"{\"_id\":{\"$oid\":\"" IMAGE_ID "\"},"
                         "\"group\":null,\"filename\":\"f\","
                         "\"content_type\":\"image/png\",\"size\":3,"
                         "\"taken_at\":null,\"taken_at_ms\":null}",
        -1, &error);
    assert_non_null(doc);
    struct bp_image back;
    assert_int_equal(bp_mongo_image_from_doc(doc, &back), BP_OK);
    assert_string_equal(back.group, "");
    assert_null(back.description);
    assert_string_equal(back.taken_at, "");
    assert_false(back.has_taken_at_ms);
    assert_false(back.has_position);
    assert_string_equal(back.data_json, "{}");
    assert_int_equal(back.size, 3);
    bp_image_clear(&back);
    bson_destroy(doc);
}

/* A pending image that never had a file: the awaited name, no facts. */
static struct bp_image pending_image(void)
{
    struct bp_image image = {.id = IMAGE_ID,
                             .filename = (char *)"gig.jpg",
                             .created_at = T0,
                             .updated_at = T0,
                             .upload_filename = (char *)"gig.jpg",
                             .upload_expires_at = T2};
    return image;
}

static void test_bp_mongo_image_doc_pending_without_file(void **state)
{
    (void)state;
    struct bp_image image = pending_image();
    bson_t doc;
    assert_int_equal(bp_mongo_image_doc(&image, &doc), BP_OK);
    assert_json(&doc,
                "{ \"_id\" : { \"$oid\" : \"" IMAGE_ID "\" }, "
                "\"group\" : null, \"description\" : null, "
                "\"filename\" : \"gig.jpg\", \"content_type\" : \"\", "
                "\"size\" : 0, \"sha256\" : \"\", \"width\" : 0, "
                "\"height\" : 0, \"taken_at\" : null, \"taken_at_ms\" : null, "
                "\"has_taken_at\" : 0, \"data\" : {  }, "
                "\"status\" : \"pending\", \"upload\" : { "
                "\"filename\" : \"gig.jpg\", \"expires_at\" : " T2_JSON " }, "
                "\"created_at\" : " T0_JSON ", \"updated_at\" : " T0_JSON " }");
}

static void test_bp_mongo_image_doc_no_expiry_is_ready(void **state)
{
    (void)state;
    /* Awaited means an expiry: a name alone is not stored. */
    struct bp_image image = sample_image();
    image.upload_filename = (char *)"next.jpg";
    bson_t doc;
    assert_int_equal(bp_mongo_image_doc(&image, &doc), BP_OK);
    bson_iter_t iter;
    assert_true(bson_iter_init_find(&iter, &doc, "status"));
    assert_string_equal(bson_iter_utf8(&iter, NULL), "ready");
    assert_false(bson_iter_init_find(&iter, &doc, "upload"));
    bson_destroy(&doc);
}

static void test_bp_mongo_image_from_doc_pending_round_trips(void **state)
{
    (void)state;
    struct bp_image image = pending_image();
    bson_t doc;
    struct bp_image back;
    assert_int_equal(bp_mongo_image_doc(&image, &doc), BP_OK);
    assert_int_equal(bp_mongo_image_from_doc(&doc, &back), BP_OK);
    assert_string_equal(back.filename, "gig.jpg");
    assert_string_equal(back.upload_filename, "gig.jpg");
    assert_int_equal(back.upload_expires_at, T2);
    assert_true(bp_image_upload_awaited(&back));
    assert_false(bp_image_has_file(&back));
    assert_string_equal(back.content_type, "");
    assert_string_equal(back.data_json, "{}");
    assert_int_equal(back.size, 0);
    assert_false(back.has_taken_at_ms);
    assert_false(back.has_position);
    bp_image_clear(&back);
    bson_destroy(&doc);
}

static void test_bp_mongo_image_from_doc_ready_has_no_upload(void **state)
{
    (void)state;
    struct bp_image image = sample_image();
    bson_t doc;
    struct bp_image back;
    assert_int_equal(bp_mongo_image_doc(&image, &doc), BP_OK);
    assert_int_equal(bp_mongo_image_from_doc(&doc, &back), BP_OK);
    assert_null(back.upload_filename);
    assert_int_equal(back.upload_expires_at, 0);
    assert_false(bp_image_upload_awaited(&back));
    bp_image_clear(&back);
    bson_destroy(&doc);
}

static void test_bp_mongo_image_filter_empty(void **state)
{
    (void)state;
    struct bp_image_query query = {0};
    bson_t doc;
    assert_int_equal(bp_mongo_image_filter(&query, NULL, &doc), BP_OK);
    assert_json(&doc, "{ }");
}

static void test_bp_mongo_image_filter_group(void **state)
{
    (void)state;
    struct bp_image_query query = {.group = GROUP_ID};
    bson_t doc;
    assert_int_equal(bp_mongo_image_filter(&query, NULL, &doc), BP_OK);
    assert_json(&doc, "{ \"group\" : { \"$oid\" : \"" GROUP_ID "\" } }");
}

static void test_bp_mongo_image_filter_malformed_group(void **state)
{
    (void)state;
    struct bp_image_query query = {.group = "nope"};
    bson_t doc;
    assert_int_equal(bp_mongo_image_filter(&query, NULL, &doc), BP_EINVAL);
    bson_destroy(&doc);
}

static void test_bp_mongo_image_filter_taken_after_before(void **state)
{
    (void)state;
    struct bp_image_query query = {.has_taken_after = true,
                                   .taken_after_ms = T0,
                                   .has_taken_before = true,
                                   .taken_before_ms = T1};
    bson_t doc;
    assert_int_equal(bp_mongo_image_filter(&query, NULL, &doc), BP_OK);
    assert_json(&doc, "{ \"taken_at_ms\" : { \"$gte\" : " T0_JSON
                      ", \"$lte\" : " T1_JSON " } }");
}

static void test_bp_mongo_image_filter_taken_before_only(void **state)
{
    (void)state;
    struct bp_image_query query = {.has_taken_before = true,
                                   .taken_before_ms = T1};
    bson_t doc;
    assert_int_equal(bp_mongo_image_filter(&query, NULL, &doc), BP_OK);
    assert_json(&doc, "{ \"taken_at_ms\" : { \"$lte\" : " T1_JSON " } }");
}

static void test_bp_mongo_image_filter_upload_expired_before(void **state)
{
    (void)state;
    struct bp_image_query query = {.has_upload_expired_before = true,
                                   .upload_expired_before_ms = T2};
    bson_t doc;
    assert_int_equal(bp_mongo_image_filter(&query, NULL, &doc), BP_OK);
    assert_json(&doc, "{ \"upload.expires_at\" : { \"$lt\" : " T2_JSON " } }");
}

static void test_bp_mongo_image_filter_hides_hidden_groups(void **state)
{
    (void)state;
    struct bp_image_query query = {.has_bbox = true,
                                   .min_lon = 2.0,
                                   .min_lat = 48.5,
                                   .max_lon = 2.5,
                                   .max_lat = 49.0,
                                   .hide_hidden_locations = true,
                                   .viewer = "sub-9"};
    bson_t hidden = BSON_INITIALIZER, doc;
    bson_oid_t oid;
    bson_oid_init_from_string(&oid, GROUP_ID);
    BSON_APPEND_OID(&hidden, "0", &oid);
    assert_int_equal(bp_mongo_image_filter(&query, &hidden, &doc), BP_OK);
    assert_json(
        &doc,
        "{ \"$and\" : [ { \"location\" : { \"$geoWithin\" : "
        "{ \"$box\" : [ [ 2.0, 48.5 ], [ 2.5, 49.0 ] ] } } }, "
        "{ \"$or\" : [ { \"group\" : { \"$nin\" : [ { \"$oid\" : \"" GROUP_ID
        "\" } ] } }, { \"owner\" : \"sub-9\" } ] } ] }");
    bson_destroy(&hidden);
    assert_int_equal(bp_mongo_hidden_groups_filter("", &doc), BP_OK);
    assert_json(&doc, "{ \"location\" : \"hidden\", \"owner\" : "
                      "{ \"$ne\" : \"\" } }");
}

static void test_bp_mongo_image_filter_bbox(void **state)
{
    (void)state;
    struct bp_image_query query = {.has_bbox = true,
                                   .min_lon = 2.0,
                                   .min_lat = 48.5,
                                   .max_lon = 2.5,
                                   .max_lat = 49.0};
    bson_t doc;
    assert_int_equal(bp_mongo_image_filter(&query, NULL, &doc), BP_OK);
    assert_json(&doc,
                "{ \"$and\" : [ { \"location\" : { \"$geoWithin\" : "
                "{ \"$box\" : [ [ 2.0, 48.5 ], [ 2.5, 49.0 ] ] } } } ] }");
}

static void test_bp_mongo_image_filter_bbox_across_antimeridian(void **state)
{
    (void)state;
    struct bp_image_query query = {.has_bbox = true,
                                   .min_lon = 170.0,
                                   .min_lat = -20.0,
                                   .max_lon = -170.0,
                                   .max_lat = -10.0};
    bson_t doc;
    assert_int_equal(bp_mongo_image_filter(&query, NULL, &doc), BP_OK);
    assert_json(&doc, "{ \"$and\" : [ { \"$or\" : [ "
                      "{ \"location\" : { \"$geoWithin\" : { \"$box\" : "
                      "[ [ 170.0, -20.0 ], [ 180.0, -10.0 ] ] } } }, "
                      "{ \"location\" : { \"$geoWithin\" : { \"$box\" : "
                      "[ [ -180.0, -20.0 ], [ -170.0, -10.0 ] ] } } } ] } ] }");
}

static void test_bp_mongo_image_filter_near(void **state)
{
    (void)state;
    /* 6371008.8 m is one radian of the mean Earth radius. */
    struct bp_image_query query = {.has_near = true,
                                   .near_lat = 48.8125,
                                   .near_lon = 2.25,
                                   .radius_m = 6371008.8 / 4};
    bson_t doc;
    assert_int_equal(bp_mongo_image_filter(&query, NULL, &doc), BP_OK);
    assert_json(&doc, "{ \"$and\" : [ { \"location\" : { \"$geoWithin\" : "
                      "{ \"$centerSphere\" : [ [ 2.25, 48.8125 ], 0.25 ] } "
                      "} } ] }");
}

static void test_bp_mongo_image_filter_near_caps_at_whole_sphere(void **state)
{
    (void)state;
    struct bp_image_query query = {.has_near = true, .radius_m = 1e9};
    bson_t doc;
    assert_int_equal(bp_mongo_image_filter(&query, NULL, &doc), BP_OK);
    bson_iter_t iter;
    assert_true(bson_iter_init(&iter, &doc));
    assert_true(bson_iter_find_descendant(
        &iter, "$and.0.location.$geoWithin.$centerSphere.1", &iter));
    assert_float_equal(bson_iter_double(&iter), M_PI, 0);
    bson_destroy(&doc);
}

static void test_bp_mongo_image_filter_all_filters(void **state)
{
    (void)state;
    struct bp_image_query query = {.group = GROUP_ID,
                                   .has_taken_after = true,
                                   .taken_after_ms = T0,
                                   .has_bbox = true,
                                   .min_lon = -1.0,
                                   .min_lat = -2.0,
                                   .max_lon = 1.0,
                                   .max_lat = 2.0,
                                   .has_near = true,
                                   .near_lat = 0.5,
                                   .near_lon = -0.5,
                                   .radius_m = 6371008.8 / 2,
                                   .has_upload_expired_before = true,
                                   .upload_expired_before_ms = T2,
                                   .limit = 5};
    bson_t doc;
    assert_int_equal(bp_mongo_image_filter(&query, NULL, &doc), BP_OK);
    assert_json(&doc,
                "{ \"group\" : { \"$oid\" : \"" GROUP_ID "\" }, "
                "\"taken_at_ms\" : { \"$gte\" : " T0_JSON " }, "
                "\"upload.expires_at\" : { \"$lt\" : " T2_JSON " }, "
                "\"$and\" : [ { \"location\" : { \"$geoWithin\" : "
                "{ \"$box\" : [ [ -1.0, -2.0 ], [ 1.0, 2.0 ] ] } } }, "
                "{ \"location\" : { \"$geoWithin\" : { \"$centerSphere\" : "
                "[ [ -0.5, 0.5 ], 0.5 ] } } } ] }");
}

static void test_bp_mongo_image_sort_missing_capture_last(void **state)
{
    (void)state;
    bson_t doc;
    assert_int_equal(bp_mongo_image_sort(&doc), BP_OK);
    assert_json(&doc, "{ \"has_taken_at\" : -1, \"taken_at_ms\" : 1, "
                      "\"created_at\" : 1, \"_id\" : 1 }");
}

static void test_bp_mongo_image_find_opts_unpaged(void **state)
{
    (void)state;
    struct bp_image_query query = {.group = GROUP_ID};
    bson_t doc;
    assert_int_equal(bp_mongo_image_find_opts(&query, &doc), BP_OK);
    assert_json(&doc, "{ \"sort\" : { \"has_taken_at\" : -1, "
                      "\"taken_at_ms\" : 1, \"created_at\" : 1, "
                      "\"_id\" : 1 } }");
}

static void test_bp_mongo_image_find_opts_paged(void **state)
{
    (void)state;
    struct bp_image_query query = {.limit = 50, .offset = 100};
    bson_t doc;
    assert_int_equal(bp_mongo_image_find_opts(&query, &doc), BP_OK);
    assert_json(&doc, "{ \"sort\" : { \"has_taken_at\" : -1, "
                      "\"taken_at_ms\" : 1, \"created_at\" : 1, "
                      "\"_id\" : 1 }, \"skip\" : 100, \"limit\" : 50 }");
}

static void test_bp_mongo_image_update_patch_with_null_clears(void **state)
{
    (void)state;
    struct bp_image_patch patch = {.set_description = true,
                                   .description = NULL,
                                   .set_group = true,
                                   .group = ""};
    bson_t doc;
    assert_int_equal(bp_mongo_image_update(&patch, T1, &doc), BP_OK);
    assert_json(&doc, "{ \"$set\" : { \"description\" : null, "
                      "\"group\" : null, \"updated_at\" : " T1_JSON " } }");
}

static void test_bp_mongo_image_update_moves_group(void **state)
{
    (void)state;
    struct bp_image_patch patch = {.set_group = true, .group = GROUP_ID};
    bson_t doc;
    assert_int_equal(bp_mongo_image_update(&patch, T1, &doc), BP_OK);
    assert_json(&doc, "{ \"$set\" : { \"group\" : { \"$oid\" : \"" GROUP_ID
                      "\" }, \"updated_at\" : " T1_JSON " } }");
}

static void test_bp_mongo_image_update_awaits_upload(void **state)
{
    (void)state;
    struct bp_image_patch patch = {.set_upload = true,
                                   .upload_filename = "gig.jpg",
                                   .upload_expires_at = T2};
    bson_t doc;
    assert_int_equal(bp_mongo_image_update(&patch, T1, &doc), BP_OK);
    assert_json(&doc, "{ \"$set\" : { \"status\" : \"pending\", "
                      "\"upload\" : { \"filename\" : \"gig.jpg\", "
                      "\"expires_at\" : " T2_JSON " }, "
                      "\"updated_at\" : " T1_JSON " } }");
}

static void test_bp_mongo_image_update_stops_upload(void **state)
{
    (void)state;
    /* A NULL name stops awaiting, whatever expiry comes with it. */
    struct bp_image_patch patch = {.set_description = true,
                                   .description = "late",
                                   .set_upload = true,
                                   .upload_expires_at = T2};
    bson_t doc;
    assert_int_equal(bp_mongo_image_update(&patch, T1, &doc), BP_OK);
    assert_json(&doc, "{ \"$set\" : { \"description\" : \"late\", "
                      "\"status\" : \"ready\", \"updated_at\" : " T1_JSON
                      " }, \"$unset\" : { \"upload\" : \"\" } }");
}

static void test_bp_mongo_image_update_malformed_group(void **state)
{
    (void)state;
    struct bp_image_patch patch = {.set_group = true, .group = "nope"};
    bson_t doc;
    assert_int_equal(bp_mongo_image_update(&patch, T1, &doc), BP_EINVAL);
    bson_destroy(&doc);
}

static void test_bp_mongo_image_replace_file_update_position(void **state)
{
    (void)state;
    struct bp_image file = sample_image();
    bson_t doc;
    assert_int_equal(bp_mongo_image_replace_file_update(&file, T1, &doc),
                     BP_OK);
    assert_json(&doc, "{ \"$set\" : { " SAMPLE_FILE_FIELDS_JSON
                      ", " SAMPLE_LOCATION_JSON ", \"status\" : \"ready\", "
                      "\"updated_at\" : " T1_JSON " }, "
                      "\"$unset\" : { \"upload\" : \"\" } }");
}

static void
test_bp_mongo_image_replace_file_update_unsets_location(void **state)
{
    (void)state;
    struct bp_image file = sample_image();
    file.has_position = false;
    file.taken_at[0] = '\0';
    file.has_taken_at_ms = false;
    file.data_json = (char *)"{}";
    bson_t doc;
    assert_int_equal(bp_mongo_image_replace_file_update(&file, T1, &doc),
                     BP_OK);
    assert_json(&doc,
                "{ \"$set\" : { \"filename\" : \"a.jpg\", "
                "\"content_type\" : \"image/jpeg\", \"size\" : 5000000000, "
                "\"sha256\" : \"ab\", \"width\" : 4000, \"height\" : 3000, "
                "\"taken_at\" : null, \"taken_at_ms\" : null, "
                "\"has_taken_at\" : 0, \"data\" : {  }, "
                "\"status\" : \"ready\", \"updated_at\" : " T1_JSON " }, "
                "\"$unset\" : { \"location\" : \"\", \"upload\" : \"\" } }");
}

static void test_bp_mongo_image_replace_file_update_bad_data(void **state)
{
    (void)state;
    struct bp_image file = sample_image();
    file.data_json = (char *)"[";
    bson_t doc;
    assert_int_equal(bp_mongo_image_replace_file_update(&file, T1, &doc),
                     BP_EINVAL);
    bson_destroy(&doc);
}

static void test_bp_mongo_image_update_filter_unconditional(void **state)
{
    (void)state;
    struct bp_image_patch patch = {.set_description = true,
                                   .if_upload_expires_at = T2};
    bson_t doc;
    assert_int_equal(bp_mongo_image_update_filter(IMAGE_ID, &patch, &doc),
                     BP_OK);
    assert_json(&doc, "{ \"_id\" : { \"$oid\" : \"" IMAGE_ID "\" } }");
}

static void test_bp_mongo_image_update_filter_if_upload(void **state)
{
    (void)state;
    struct bp_image_patch patch = {.if_upload = true,
                                   .if_upload_expires_at = T2};
    bson_t doc;
    assert_int_equal(bp_mongo_image_update_filter(IMAGE_ID, &patch, &doc),
                     BP_OK);
    assert_json(&doc, "{ \"_id\" : { \"$oid\" : \"" IMAGE_ID "\" }, "
                      "\"upload.expires_at\" : " T2_JSON " }");
}

static void test_bp_mongo_image_update_filter_if_no_upload(void **state)
{
    (void)state;
    /* Awaiting none: no upload field (null matches a missing one). */
    struct bp_image_patch patch = {.if_upload = true};
    bson_t doc;
    assert_int_equal(bp_mongo_image_update_filter(IMAGE_ID, &patch, &doc),
                     BP_OK);
    assert_json(&doc, "{ \"_id\" : { \"$oid\" : \"" IMAGE_ID "\" }, "
                      "\"upload.expires_at\" : null }");
}

static void test_bp_mongo_image_update_filter_malformed_id(void **state)
{
    (void)state;
    struct bp_image_patch patch = {.if_upload = true};
    bson_t doc;
    assert_int_equal(bp_mongo_image_update_filter("nope", &patch, &doc),
                     BP_EINVAL);
    bson_destroy(&doc);
}

static void test_bp_mongo_image_replace_file_filter_unconditional(void **state)
{
    (void)state;
    struct bp_image file = sample_image();
    bson_t doc;
    assert_int_equal(bp_mongo_image_replace_file_filter(&file, &doc), BP_OK);
    assert_json(&doc, "{ \"_id\" : { \"$oid\" : \"" IMAGE_ID "\" } }");
}

static void test_bp_mongo_image_replace_file_filter_if_awaited(void **state)
{
    (void)state;
    struct bp_image file = sample_image();
    file.upload_expires_at = T2;
    bson_t doc;
    assert_int_equal(bp_mongo_image_replace_file_filter(&file, &doc), BP_OK);
    assert_json(&doc, "{ \"_id\" : { \"$oid\" : \"" IMAGE_ID "\" }, "
                      "\"upload.expires_at\" : " T2_JSON " }");
    /* The update is the same either way. */
    assert_int_equal(bp_mongo_image_replace_file_update(&file, T1, &doc),
                     BP_OK);
    assert_json(&doc, "{ \"$set\" : { " SAMPLE_FILE_FIELDS_JSON
                      ", " SAMPLE_LOCATION_JSON ", \"status\" : \"ready\", "
                      "\"updated_at\" : " T1_JSON " }, "
                      "\"$unset\" : { \"upload\" : \"\" } }");
}

static void test_bp_mongo_image_replace_file_filter_malformed_id(void **state)
{
    (void)state;
    struct bp_image file = sample_image();
    memcpy(file.id, "nope", 5);
    file.upload_expires_at = T2;
    bson_t doc;
    assert_int_equal(bp_mongo_image_replace_file_filter(&file, &doc),
                     BP_EINVAL);
    bson_destroy(&doc);
}

static void test_bp_mongo_image_delete_awaiting_filter(void **state)
{
    (void)state;
    bson_t doc;
    assert_int_equal(bp_mongo_image_delete_awaiting_filter(IMAGE_ID, T2, &doc),
                     BP_OK);
    assert_json(&doc,
                "{ \"_id\" : { \"$oid\" : \"" IMAGE_ID "\" }, "
                "\"sha256\" : \"\", \"upload.expires_at\" : " T2_JSON " }");
}

static void test_bp_mongo_image_delete_awaiting_filter_none(void **state)
{
    (void)state;
    /* Awaiting none is never awaiting: the epoch, which no upload has. */
    bson_t doc;
    assert_int_equal(bp_mongo_image_delete_awaiting_filter(IMAGE_ID, 0, &doc),
                     BP_OK);
    assert_json(&doc, "{ \"_id\" : { \"$oid\" : \"" IMAGE_ID "\" }, "
                      "\"sha256\" : \"\", \"upload.expires_at\" : "
                      "{ \"$date\" : \"1970-01-01T00:00:00Z\" } }");
}

static void test_bp_mongo_image_delete_awaiting_filter_malformed(void **state)
{
    (void)state;
    bson_t doc;
    assert_int_equal(bp_mongo_image_delete_awaiting_filter("nope", T2, &doc),
                     BP_EINVAL);
    bson_destroy(&doc);
}

static void test_bp_mongo_index_specs_images(void **state)
{
    (void)state;
    bson_t doc;
    assert_int_equal(bp_mongo_index_specs(BP_MONGO_IMAGES, &doc), BP_OK);
    assert_json(&doc,
                "{ \"createIndexes\" : \"images\", \"indexes\" : [ "
                "{ \"key\" : { \"group\" : 1, \"has_taken_at\" : -1, "
                "\"taken_at_ms\" : 1, \"created_at\" : 1, \"_id\" : 1 }, "
                "\"name\" : \"group_order\" }, "
                "{ \"key\" : { \"has_taken_at\" : -1, \"taken_at_ms\" : 1, "
                "\"created_at\" : 1, \"_id\" : 1 }, \"name\" : \"order\" }, "
                "{ \"key\" : { \"taken_at_ms\" : 1 }, "
                "\"name\" : \"taken_at_ms\" }, "
                "{ \"key\" : { \"location\" : \"2dsphere\" }, "
                "\"name\" : \"location_2dsphere\" }, "
                "{ \"key\" : { \"upload.expires_at\" : 1 }, "
                "\"name\" : \"upload_expires_at\", \"sparse\" : true }, "
                "{ \"key\" : { \"group\" : 1, \"filename\" : 1 }, "
                "\"name\" : \"group_filename\" } ] }");
}

static void test_bp_mongo_index_specs_groups(void **state)
{
    (void)state;
    bson_t doc;
    assert_int_equal(bp_mongo_index_specs(BP_MONGO_GROUPS, &doc), BP_OK);
    assert_json(&doc,
                "{ \"createIndexes\" : \"image_groups\", \"indexes\" : [ "
                "{ \"key\" : { \"created_at\" : -1, \"_id\" : -1 }, "
                "\"name\" : \"created\" }, "
                "{ \"key\" : { \"event\" : 1, \"created_at\" : -1, "
                "\"_id\" : -1 }, \"name\" : \"event_created\" }, "
                "{ \"key\" : { \"location\" : 1, \"owner\" : 1 }, "
                "\"name\" : \"hidden_location\", \"sparse\" : true } ] }");
}

static void test_bp_mongo_index_specs_unknown_collection(void **state)
{
    (void)state;
    bson_t doc;
    assert_int_equal(bp_mongo_index_specs("users", &doc), BP_EINVAL);
    bson_destroy(&doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bp_mongo_oid_parses_lower_hex),
        cmocka_unit_test(test_bp_mongo_oid_rejects_malformed),
        cmocka_unit_test(test_bp_mongo_id_filter_valid),
        cmocka_unit_test(test_bp_mongo_id_filter_malformed),
        cmocka_unit_test(test_bp_mongo_ids_filter_strided_records),
        cmocka_unit_test(test_bp_mongo_data_from_json_keeps_number_kinds),
        cmocka_unit_test(test_bp_mongo_data_from_json_types_in_canonical_form),
        cmocka_unit_test(test_bp_mongo_data_from_json_rejects_non_object),
        cmocka_unit_test(test_bp_mongo_data_to_json_round_trips_image_data),
        cmocka_unit_test(test_bp_mongo_data_to_json_keeps_kinds_and_nesting),
        cmocka_unit_test(test_bp_mongo_group_doc_nulls),
        cmocka_unit_test(test_bp_mongo_image_filter_hides_hidden_groups),
        cmocka_unit_test(test_bp_mongo_group_doc_owner_and_location),
        cmocka_unit_test(test_bp_mongo_image_owner_round_trips),
        cmocka_unit_test(test_bp_mongo_key_doc_round_trips),
        cmocka_unit_test(test_bp_mongo_detach_event),
        cmocka_unit_test(test_bp_mongo_group_doc_with_event),
        cmocka_unit_test(test_bp_mongo_group_doc_malformed_event),
        cmocka_unit_test(test_bp_mongo_group_from_doc_round_trips),
        cmocka_unit_test(test_bp_mongo_group_from_doc_null_fields),
        cmocka_unit_test(test_bp_mongo_group_from_doc_missing_name),
        cmocka_unit_test(test_bp_mongo_group_filter_all),
        cmocka_unit_test(test_bp_mongo_group_filter_event),
        cmocka_unit_test(test_bp_mongo_group_find_opts_newest_first_paged),
        cmocka_unit_test(test_bp_mongo_group_update_patch_with_null_clears),
        cmocka_unit_test(test_bp_mongo_group_update_sets_only_patched),
        cmocka_unit_test(test_bp_mongo_image_doc_full),
        cmocka_unit_test(test_bp_mongo_image_doc_without_optionals),
        cmocka_unit_test(test_bp_mongo_image_doc_bad_data),
        cmocka_unit_test(test_bp_mongo_image_from_doc_round_trips),
        cmocka_unit_test(test_bp_mongo_image_from_doc_missing_optionals),
        cmocka_unit_test(test_bp_mongo_image_doc_pending_without_file),
        cmocka_unit_test(test_bp_mongo_image_doc_no_expiry_is_ready),
        cmocka_unit_test(test_bp_mongo_image_from_doc_pending_round_trips),
        cmocka_unit_test(test_bp_mongo_image_from_doc_ready_has_no_upload),
        cmocka_unit_test(test_bp_mongo_image_filter_empty),
        cmocka_unit_test(test_bp_mongo_image_filter_group),
        cmocka_unit_test(test_bp_mongo_image_filter_malformed_group),
        cmocka_unit_test(test_bp_mongo_image_filter_taken_after_before),
        cmocka_unit_test(test_bp_mongo_image_filter_taken_before_only),
        cmocka_unit_test(test_bp_mongo_image_filter_upload_expired_before),
        cmocka_unit_test(test_bp_mongo_image_filter_bbox),
        cmocka_unit_test(test_bp_mongo_image_filter_bbox_across_antimeridian),
        cmocka_unit_test(test_bp_mongo_image_filter_near),
        cmocka_unit_test(test_bp_mongo_image_filter_near_caps_at_whole_sphere),
        cmocka_unit_test(test_bp_mongo_image_filter_all_filters),
        cmocka_unit_test(test_bp_mongo_image_sort_missing_capture_last),
        cmocka_unit_test(test_bp_mongo_image_find_opts_unpaged),
        cmocka_unit_test(test_bp_mongo_image_find_opts_paged),
        cmocka_unit_test(test_bp_mongo_image_update_patch_with_null_clears),
        cmocka_unit_test(test_bp_mongo_image_update_moves_group),
        cmocka_unit_test(test_bp_mongo_image_update_awaits_upload),
        cmocka_unit_test(test_bp_mongo_image_update_stops_upload),
        cmocka_unit_test(test_bp_mongo_image_update_malformed_group),
        cmocka_unit_test(test_bp_mongo_image_replace_file_update_position),
        cmocka_unit_test(
            test_bp_mongo_image_replace_file_update_unsets_location),
        cmocka_unit_test(test_bp_mongo_image_replace_file_update_bad_data),
        cmocka_unit_test(test_bp_mongo_image_update_filter_unconditional),
        cmocka_unit_test(test_bp_mongo_image_update_filter_if_upload),
        cmocka_unit_test(test_bp_mongo_image_update_filter_if_no_upload),
        cmocka_unit_test(test_bp_mongo_image_update_filter_malformed_id),
        cmocka_unit_test(test_bp_mongo_image_replace_file_filter_unconditional),
        cmocka_unit_test(test_bp_mongo_image_replace_file_filter_if_awaited),
        cmocka_unit_test(test_bp_mongo_image_replace_file_filter_malformed_id),
        cmocka_unit_test(test_bp_mongo_image_delete_awaiting_filter),
        cmocka_unit_test(test_bp_mongo_image_delete_awaiting_filter_none),
        cmocka_unit_test(test_bp_mongo_image_delete_awaiting_filter_malformed),
        cmocka_unit_test(test_bp_mongo_index_specs_images),
        cmocka_unit_test(test_bp_mongo_index_specs_groups),
        cmocka_unit_test(test_bp_mongo_index_specs_unknown_collection),
    };
    return cmocka_run_group_tests_name("mongo_docs", tests, NULL, NULL);
}
