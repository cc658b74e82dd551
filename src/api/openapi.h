/*
 * openapi.h: the API's OpenAPI 3.1 document (src/api/openapi.json, made
 * into a C string by the build), served at GET /openapi.json.
 */
#ifndef BP_OPENAPI_H
#define BP_OPENAPI_H

/* The document's JSON text, NUL-terminated; static. */
extern const char bp_openapi_json[];

#endif
