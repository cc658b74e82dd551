/*
 * test_s3_xml.c: reading S3's ListObjectsV2 pages and error documents:
 * objects, entities, truncation, empty listings, LastModified, and the
 * malformed documents that must be refused.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "blob/s3_xml.h"

#define XML_DECL "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
#define LIST_OPEN                                                              \
    "<ListBucketResult "                                                       \
    "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
#define LIST_CLOSE "</ListBucketResult>"
/* One well-formed <Contents> with the given key. */
#define CONTENTS(key)                                                          \
    "<Contents><Key>" key "</Key>"                                             \
    "<LastModified>2026-11-25T17:13:26.000Z</LastModified>"                    \
    "<Size>1</Size></Contents>"

/* Parses text, which must succeed, into *page. */
static void parse_ok(const char *text, struct bp_s3_list_page *page)
{
    struct bp_error err = {{0}};
    enum bp_rc rc = bp_s3_xml_parse_list(text, strlen(text), page, &err);
    if (rc != BP_OK)
        fail_msg("parse gave %d (%s) for %s", rc, err.detail, text);
}

/* Fails unless parsing text is refused with BP_EINVAL and a detail. */
static void expect_refused(const char *text)
{
    struct bp_s3_list_page page = {.count = 77};
    struct bp_error err = {{0}};
    enum bp_rc rc = bp_s3_xml_parse_list(text, strlen(text), &page, &err);
    if (rc != BP_EINVAL)
        fail_msg("parse gave %d, not BP_EINVAL, for %s", rc, text);
    assert_true(err.detail[0] != '\0');
    /* Nothing is handed out on failure. */
    assert_int_equal(page.count, 77);
    assert_null(page.objects);
}

/* Fails unless the one object of text has the key want. */
static void expect_key(const char *text, const char *want)
{
    struct bp_s3_list_page page;
    parse_ok(text, &page);
    assert_int_equal(page.count, 1);
    assert_string_equal(page.objects[0].key, want);
    bp_s3_list_page_free(&page);
}

/* Fails unless LastModified text reads as want_ms. */
static void expect_modified(const char *text, int64_t want_ms)
{
    char doc[512];
    struct bp_s3_list_page page;
    snprintf(doc, sizeof(doc),
             LIST_OPEN "<Contents><Key>k</Key><LastModified>%s</LastModified>"
                       "<Size>0</Size></Contents>" LIST_CLOSE,
             text);
    parse_ok(doc, &page);
    assert_int_equal(page.count, 1);
    assert_int_equal(page.objects[0].modified_ms, want_ms);
    bp_s3_list_page_free(&page);
}

/* Fails unless a listing with this LastModified is refused. */
static void expect_bad_modified(const char *text)
{
    char doc[512];
    snprintf(doc, sizeof(doc),
             LIST_OPEN "<Contents><Key>k</Key><LastModified>%s</LastModified>"
                       "<Size>0</Size></Contents>" LIST_CLOSE,
             text);
    expect_refused(doc);
}

/* Fails unless a listing with this Size is refused. */
static void expect_bad_size(const char *text)
{
    char doc[512];
    snprintf(doc, sizeof(doc),
             LIST_OPEN "<Contents><Key>k</Key><LastModified>"
                       "2026-11-25T17:13:26.000Z</LastModified>"
                       "<Size>%s</Size></Contents>" LIST_CLOSE,
             text);
    expect_refused(doc);
}

static void test_bp_s3_xml_parse_list_several_objects(void **state)
{
    static const char doc[] = XML_DECL LIST_OPEN
        "\n"
        "  <Name>bandpics</Name>\n"
        "  <Prefix>images/</Prefix>\n"
        "  <KeyCount>3</KeyCount>\n"
        "  <MaxKeys>1000</MaxKeys>\n"
        "  <IsTruncated>false</IsTruncated>\n"
        "  <Contents>\n"
        "    <Key>images/a.jpg</Key>\n"
        "    <LastModified>2026-11-25T17:13:26.000Z</LastModified>\n"
        "    <ETag>&quot;9b2cf535f27731c974343645a3985328&quot;</ETag>\n"
        "    <ChecksumAlgorithm>CRC64NVME</ChecksumAlgorithm>\n"
        "    <Size>434234</Size>\n"
        "    <Owner><ID>75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6"
        "caea54ba06a</ID><DisplayName>me</DisplayName></Owner>\n"
        "    <StorageClass>STANDARD</StorageClass>\n"
        "  </Contents>\n"
        "  <Contents>\n"
        "    <Key>images/b.png</Key>\n"
        "    <Size>5497558138880</Size>\n"
        "    <LastModified>2024-02-29T23:59:59.999Z</LastModified>\n"
        "  </Contents>\n"
        "  <Contents><Key>images/empty</Key>"
        "<LastModified>2009-10-12T17:50:30.000Z</LastModified>"
        "<Size>0</Size></Contents>\n"
        "  <EncodingType>url</EncodingType>\n" LIST_CLOSE "\n";
    struct bp_s3_list_page page;
    parse_ok(doc, &page);
    assert_int_equal(page.count, 3);
    assert_false(page.truncated);
    assert_null(page.continuation_token);
    assert_string_equal(page.objects[0].key, "images/a.jpg");
    assert_int_equal(page.objects[0].size, 434234);
    assert_int_equal(page.objects[0].modified_ms, 1795626806000LL);
    assert_string_equal(page.objects[1].key, "images/b.png");
    assert_int_equal(page.objects[1].size, 5497558138880LL);
    assert_int_equal(page.objects[1].modified_ms, 1709251199999LL);
    assert_string_equal(page.objects[2].key, "images/empty");
    assert_int_equal(page.objects[2].size, 0);
    assert_int_equal(page.objects[2].modified_ms, 1255369830000LL);
    bp_s3_list_page_free(&page);
    assert_null(page.objects);
    assert_int_equal(page.count, 0);
}

static void test_bp_s3_xml_parse_list_many_objects(void **state)
{
    /* More objects than the first allocation holds. */
    struct bp_s3_list_page page;
    char doc[8192];
    size_t len = (size_t)snprintf(doc, sizeof(doc), "%s", LIST_OPEN);
    for (int i = 0; i < 40; i++)
        len += (size_t)snprintf(doc + len, sizeof(doc) - len,
                                "<Contents><Key>k%02d</Key><Size>%d</Size>"
                                "<LastModified>2026-11-25T17:13:26Z"
                                "</LastModified></Contents>",
                                i, i);
    snprintf(doc + len, sizeof(doc) - len, "%s", LIST_CLOSE);
    parse_ok(doc, &page);
    assert_int_equal(page.count, 40);
    assert_string_equal(page.objects[39].key, "k39");
    assert_int_equal(page.objects[39].size, 39);
    bp_s3_list_page_free(&page);
}

static void test_bp_s3_xml_parse_list_entities_in_keys(void **state)
{
    expect_key(LIST_OPEN CONTENTS("a&amp;b&lt;c&gt;d&quot;e&apos;f") LIST_CLOSE,
               "a&b<c>d\"e'f");
    expect_key(LIST_OPEN CONTENTS("&#65;&#x42;&#x63;") LIST_CLOSE, "ABc");
    expect_key(LIST_OPEN CONTENTS("caf&#233; caf&#xE9;") LIST_CLOSE,
               "caf\xc3\xa9 caf\xc3\xa9");
    expect_key(LIST_OPEN CONTENTS("&#x20AC;&#x1F600;&#x10FFFF;") LIST_CLOSE,
               "\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf");
    expect_key(LIST_OPEN CONTENTS("&#x7F;&#13;&#0000065;") LIST_CLOSE,
               "\x7f\rA");
    /* Raw UTF-8 and spaces stay as they are. */
    expect_key(LIST_OPEN CONTENTS(" a b \xc3\xa9 ") LIST_CLOSE,
               " a b \xc3\xa9 ");
}

static void test_bp_s3_xml_parse_list_truncated_page(void **state)
{
    static const char doc[] = XML_DECL LIST_OPEN
        "<Name>bandpics</Name><IsTruncated>true"
        "</IsTruncated>" CONTENTS(
            "a") "<NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/"
                 "wm36Hy4vbOwM="
                 "</NextContinuationToken><KeyCount>1</KeyCount>" LIST_CLOSE;
    struct bp_s3_list_page page;
    parse_ok(doc, &page);
    assert_true(page.truncated);
    assert_int_equal(page.count, 1);
    assert_string_equal(page.continuation_token,
                        "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=");
    bp_s3_list_page_free(&page);
    assert_null(page.continuation_token);
}

static void test_bp_s3_xml_parse_list_empty_listing(void **state)
{
    struct bp_s3_list_page page;
    parse_ok(XML_DECL LIST_OPEN "<Name>bandpics</Name><Prefix>none/</Prefix>"
                                "<KeyCount>0</KeyCount><MaxKeys>1000</MaxKeys>"
                                "<IsTruncated>false</IsTruncated>" LIST_CLOSE,
             &page);
    assert_int_equal(page.count, 0);
    assert_null(page.objects);
    assert_false(page.truncated);
    assert_null(page.continuation_token);
    bp_s3_list_page_free(&page);
    parse_ok("<ListBucketResult xmlns='x'/>", &page);
    assert_int_equal(page.count, 0);
    bp_s3_list_page_free(&page);
}

static void test_bp_s3_xml_parse_list_xml_variants(void **state)
{
    /* A byte-order mark, comments, CRLFs, single quotes, a namespace
     * prefix and spaces inside tags are all fine. */
    expect_key("\xef\xbb\xbf<?xml version='1.0'?>\r\n<!-- listing -->\r\n"
               "<s3:ListBucketResult xmlns:s3='http://s3.amazonaws.com/doc/"
               "2006-03-01/' >\r\n<s3:Contents ><s3:Key>a<!-- x -->b</s3:Key >"
               "<s3:Size> 7 </s3:Size><s3:LastModified>\n"
               "2026-11-25T17:13:26.000Z\n</s3:LastModified></s3:Contents>"
               "</s3:ListBucketResult >\r\n<!-- end -->\r\n",
               "ab");
}

static void test_bp_s3_xml_parse_list_respects_len(void **state)
{
    static const char doc[] = LIST_OPEN CONTENTS("a") LIST_CLOSE "garbage";
    struct bp_s3_list_page page;
    struct bp_error err = {{0}};
    assert_int_equal(
        bp_s3_xml_parse_list(doc, sizeof(doc) - 1 - 7, &page, &err), BP_OK);
    assert_int_equal(page.count, 1);
    bp_s3_list_page_free(&page);
    /* Cut inside the closing tag. */
    assert_int_equal(
        bp_s3_xml_parse_list(doc, sizeof(doc) - 1 - 9, &page, &err), BP_EINVAL);
    bp_s3_list_page_free(NULL);
}

static void test_bp_s3_xml_parse_list_last_modified(void **state)
{
    expect_modified("1970-01-01T00:00:00.000Z", 0);
    expect_modified("2026-11-25T17:13:26.000Z", 1795626806000LL);
    expect_modified("2026-11-25T17:13:26Z", 1795626806000LL);
    expect_modified("2026-11-25T17:13:26.5Z", 1795626806500LL);
    expect_modified("2024-02-29T23:59:59.999Z", 1709251199999LL);
    expect_bad_modified("");
    expect_bad_modified("2026-11-25");
    expect_bad_modified("2026-11-25T17:13:26.000");
    expect_bad_modified("2026-11-25T17:13:26+01:00");
    expect_bad_modified("2026-11-25 17:13:26.000Z");
    expect_bad_modified("2026-11-25T17:13:26.Z");
    expect_bad_modified("2026-13-01T00:00:00.000Z");
    expect_bad_modified("2025-02-29T00:00:00.000Z");
    expect_bad_modified("2026-11-25T24:00:00.000Z");
    expect_bad_modified("2026-11-25T17:13:26.0x0Z");
    expect_bad_modified("+026-11-25T17:13:26.000Z");
    expect_bad_modified("2026-11-25T17:13:26.00000000000000000000000Z");
}

static void test_bp_s3_xml_parse_list_bad_size(void **state)
{
    expect_bad_size("");
    expect_bad_size("-1");
    expect_bad_size("+1");
    expect_bad_size("12a");
    expect_bad_size("1 2");
    expect_bad_size("0x10");
    expect_bad_size("9223372036854775808");
    expect_bad_size("99999999999999999999999");
}

static void test_bp_s3_xml_parse_list_missing_fields(void **state)
{
    expect_refused(LIST_OPEN "<Contents><Size>1</Size><LastModified>"
                             "2026-11-25T17:13:26.000Z</LastModified>"
                             "</Contents>" LIST_CLOSE);
    expect_refused(LIST_OPEN "<Contents><Key>k</Key><LastModified>"
                             "2026-11-25T17:13:26.000Z</LastModified>"
                             "</Contents>" LIST_CLOSE);
    expect_refused(LIST_OPEN "<Contents><Key>k</Key><Size>1</Size>"
                             "</Contents>" LIST_CLOSE);
    expect_refused(LIST_OPEN "<Contents/>" LIST_CLOSE);
    expect_refused(LIST_OPEN CONTENTS("") LIST_CLOSE);
    /* Truncated, but no way to continue. */
    expect_refused(LIST_OPEN "<IsTruncated>true</IsTruncated>" LIST_CLOSE);
    expect_refused(LIST_OPEN "<IsTruncated>true</IsTruncated>"
                             "<NextContinuationToken/>" LIST_CLOSE);
}

static void test_bp_s3_xml_parse_list_bad_fields(void **state)
{
    expect_refused(LIST_OPEN "<IsTruncated>yes</IsTruncated>" LIST_CLOSE);
    expect_refused(LIST_OPEN "<IsTruncated>false</IsTruncated>"
                             "<IsTruncated>false</IsTruncated>" LIST_CLOSE);
    expect_refused(LIST_OPEN "<Contents><Key>a</Key><Key>b</Key><Size>1"
                             "</Size><LastModified>2026-11-25T17:13:26.000Z"
                             "</LastModified></Contents>" LIST_CLOSE);
    expect_refused(LIST_OPEN CONTENTS("a<b>c</b>") LIST_CLOSE);
    expect_refused(LIST_OPEN CONTENTS("\xc3(") LIST_CLOSE);
    expect_refused(LIST_OPEN CONTENTS("a\x01") LIST_CLOSE);
}

static void test_bp_s3_xml_parse_list_bad_entities(void **state)
{
    expect_refused(LIST_OPEN CONTENTS("&nbsp;") LIST_CLOSE);
    expect_refused(LIST_OPEN CONTENTS("a & b") LIST_CLOSE);
    expect_refused(LIST_OPEN CONTENTS("&amp") LIST_CLOSE);
    expect_refused(LIST_OPEN CONTENTS("&;") LIST_CLOSE);
    expect_refused(LIST_OPEN CONTENTS("&#;") LIST_CLOSE);
    expect_refused(LIST_OPEN CONTENTS("&#x;") LIST_CLOSE);
    expect_refused(LIST_OPEN CONTENTS("&#0;") LIST_CLOSE);
    expect_refused(LIST_OPEN CONTENTS("&#xD800;") LIST_CLOSE);
    expect_refused(LIST_OPEN CONTENTS("&#x110000;") LIST_CLOSE);
    expect_refused(LIST_OPEN CONTENTS("&#99999999999999999999;") LIST_CLOSE);
    expect_refused(LIST_OPEN CONTENTS("&#x4G;") LIST_CLOSE);
    expect_refused(LIST_OPEN CONTENTS("&#X41;") LIST_CLOSE);
}

static void test_bp_s3_xml_parse_list_malformed(void **state)
{
    static const char *const docs[] = {
        "",
        "   \n",
        "hello",
        "<",
        "<>",
        "< ListBucketResult/>",
        "<ListBucketResult",
        "<ListBucketResult>",
        LIST_OPEN "<Contents><Key>a</Key>",
        LIST_OPEN CONTENTS("a"),
        LIST_OPEN "<Contents><Key>a</Key" LIST_CLOSE,
        LIST_OPEN "<Contents><Key>a</Kez></Contents>" LIST_CLOSE,
        LIST_OPEN "</Contents>" LIST_CLOSE,
        LIST_OPEN LIST_CLOSE LIST_CLOSE,
        LIST_OPEN LIST_CLOSE LIST_OPEN LIST_CLOSE,
        LIST_OPEN LIST_CLOSE "trailing",
        "leading" LIST_OPEN LIST_CLOSE,
        "<ListBucketResult xmlns=\"x>" LIST_CLOSE,
        "<ListBucketResult xmlns=x>" LIST_CLOSE,
        "<ListBucketResult xmlns>" LIST_CLOSE,
        "<ListBucketResult a='1'b='2'>" LIST_CLOSE,
        "<ListBucketResult a='<'>" LIST_CLOSE,
        "<?xml version=\"1.0\"" LIST_OPEN LIST_CLOSE,
        "<!-- open " LIST_OPEN LIST_CLOSE,
        "<!DOCTYPE x [<!ENTITY a 'b'>]>" LIST_OPEN LIST_CLOSE,
        LIST_OPEN "<![CDATA[x]]>" LIST_CLOSE,
        "<ListAllMyBucketsResult></ListAllMyBucketsResult>",
        "<Error><Code>AccessDenied</Code></Error>",
        "<1a></1a>",
    };
    for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++)
        expect_refused(docs[i]);
}

static void test_bp_s3_xml_parse_list_depth_is_bounded(void **state)
{
    char doc[1024];
    size_t len = (size_t)snprintf(doc, sizeof(doc), "%s", LIST_OPEN);
    for (int i = 0; i < 15; i++)
        len += (size_t)snprintf(doc + len, sizeof(doc) - len, "<a>");
    for (int i = 0; i < 15; i++)
        len += (size_t)snprintf(doc + len, sizeof(doc) - len, "</a>");
    snprintf(doc + len, sizeof(doc) - len, "%s", LIST_CLOSE);
    struct bp_s3_list_page page;
    parse_ok(doc, &page); /* 16 levels */
    bp_s3_list_page_free(&page);

    len = (size_t)snprintf(doc, sizeof(doc), "%s", LIST_OPEN);
    for (int i = 0; i < 16; i++)
        len += (size_t)snprintf(doc + len, sizeof(doc) - len, "<a>");
    for (int i = 0; i < 16; i++)
        len += (size_t)snprintf(doc + len, sizeof(doc) - len, "</a>");
    snprintf(doc + len, sizeof(doc) - len, "%s", LIST_CLOSE);
    expect_refused(doc); /* 17 levels */
}

static void test_bp_s3_xml_parse_list_refuses_nul(void **state)
{
    static const char doc[] = LIST_OPEN CONTENTS("a\0b") LIST_CLOSE;
    struct bp_s3_list_page page;
    struct bp_error err = {{0}};
    assert_int_equal(bp_s3_xml_parse_list(doc, sizeof(doc) - 1, &page, &err),
                     BP_EINVAL);
}

static void test_bp_s3_xml_error_code_reads_code(void **state)
{
    static const char doc[] =
        XML_DECL "<Error>\n"
                 "  <Code>NoSuchKey</Code>\n"
                 "  <Message>The resource you requested does not exist"
                 "</Message>\n"
                 "  <Resource>/mybucket/myfoto.jpg</Resource>\n"
                 "  <RequestId>4442587FB7D0A2F9</RequestId>\n"
                 "</Error>\n";
    char code[64];
    assert_true(bp_s3_xml_error_code(doc, strlen(doc), code, sizeof(code)));
    assert_string_equal(code, "NoSuchKey");
}

static void test_bp_s3_xml_error_code_truncates(void **state)
{
    static const char doc[] = "<Error><Code>SignatureDoesNotMatch</Code>"
                              "<Message>a &amp; b</Message></Error>";
    char code[10];
    assert_true(bp_s3_xml_error_code(doc, strlen(doc), code, sizeof(code)));
    assert_string_equal(code, "Signature");
    char one[1] = {'x'};
    assert_true(bp_s3_xml_error_code(doc, strlen(doc), one, sizeof(one)));
    assert_int_equal(one[0], '\0');
}

static void test_bp_s3_xml_error_code_absent(void **state)
{
    static const char *const docs[] = {
        "",
        "not xml",
        "<Error><Message>no code</Message></Error>",
        "<Error><Code></Code></Error>",
        "<Error><Code>NoSuchKey</Code>",
        "<Error><Code>NoSuchKey</Error>",
        "<Error><Detail><Code>Nested</Code></Detail></Error>",
        LIST_OPEN "<Code>NotAnError</Code>" LIST_CLOSE,
        "<html><body>502 Bad Gateway</body></html>",
    };
    for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
        char code[32] = "stale";
        if (bp_s3_xml_error_code(docs[i], strlen(docs[i]), code, sizeof(code)))
            fail_msg("found a code in %s", docs[i]);
        assert_string_equal(code, "");
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bp_s3_xml_parse_list_several_objects),
        cmocka_unit_test(test_bp_s3_xml_parse_list_many_objects),
        cmocka_unit_test(test_bp_s3_xml_parse_list_entities_in_keys),
        cmocka_unit_test(test_bp_s3_xml_parse_list_truncated_page),
        cmocka_unit_test(test_bp_s3_xml_parse_list_empty_listing),
        cmocka_unit_test(test_bp_s3_xml_parse_list_xml_variants),
        cmocka_unit_test(test_bp_s3_xml_parse_list_respects_len),
        cmocka_unit_test(test_bp_s3_xml_parse_list_last_modified),
        cmocka_unit_test(test_bp_s3_xml_parse_list_bad_size),
        cmocka_unit_test(test_bp_s3_xml_parse_list_missing_fields),
        cmocka_unit_test(test_bp_s3_xml_parse_list_bad_fields),
        cmocka_unit_test(test_bp_s3_xml_parse_list_bad_entities),
        cmocka_unit_test(test_bp_s3_xml_parse_list_malformed),
        cmocka_unit_test(test_bp_s3_xml_parse_list_depth_is_bounded),
        cmocka_unit_test(test_bp_s3_xml_parse_list_refuses_nul),
        cmocka_unit_test(test_bp_s3_xml_error_code_reads_code),
        cmocka_unit_test(test_bp_s3_xml_error_code_truncates),
        cmocka_unit_test(test_bp_s3_xml_error_code_absent),
    };
    return cmocka_run_group_tests_name("s3_xml", tests, NULL, NULL);
}
