/*
 * handlers.h: the request handlers, one per route. Each fills the
 * response or returns an error code with a detail for the client.
 */
#ifndef BP_HANDLERS_H
#define BP_HANDLERS_H

#include <json-c/json.h>

#include "api/app.h"
#include "http/router.h"
#include "model/ids.h"

/*
 * Reads capture index of match as an id into id. BP_EINVAL when it is
 * not 24 hex characters.
 */
enum bp_rc bp_handler_path_id(const struct bp_route_match *match, size_t index,
                              char id[BP_ID_LEN + 1], struct bp_error *err);

/*
 * Logs a change that req made (action "created", "updated" or
 * "deleted"; kind "group" or "image") with the caller and request id.
 */
void bp_handler_log_change(const struct bp_ctx *ctx,
                           const struct bp_request *req, const char *action,
                           const char *kind, const char *id);

/* bp_handler_log_change for each image of list. */
void bp_handler_log_images(const struct bp_ctx *ctx,
                           const struct bp_request *req, const char *action,
                           const struct bp_image_list *list);

/*
 * bp_handler_log_change for the image id of each item of the array
 * under key in answer (a direct upload's answer).
 */
void bp_handler_log_items(const struct bp_ctx *ctx,
                          const struct bp_request *req, const char *action,
                          struct json_object *answer, const char *key);

/* Sends value, which is released here (NULL means out of memory). */
enum bp_rc bp_handler_send_json(struct bp_response *res, int status,
                                struct json_object *value);

/*
 * Adds X-Total-Count and, while more remain, a Link to the next page
 * that repeats the request's other query parameters.
 */
enum bp_rc bp_handler_paging_headers(const struct bp_request *req,
                                     struct bp_response *res, long limit,
                                     long offset, size_t count,
                                     long long total);

/* GET /: the service's name and version. */
enum bp_rc bp_handle_service_info(struct bp_ctx *ctx,
                                  const struct bp_request *req,
                                  const struct bp_route_match *match,
                                  struct bp_response *res,
                                  struct bp_error *err);

/* GET /openapi.json: the API's OpenAPI 3.1 document. */
enum bp_rc bp_handle_openapi(struct bp_ctx *ctx, const struct bp_request *req,
                             const struct bp_route_match *match,
                             struct bp_response *res, struct bp_error *err);

/* GET /healthz: 200 when the store answers, 503 naming what is down. */
enum bp_rc bp_handle_health(struct bp_ctx *ctx, const struct bp_request *req,
                            const struct bp_route_match *match,
                            struct bp_response *res, struct bp_error *err);

/* GET /image_groups: one page of groups, newest first. */
enum bp_rc bp_handle_group_list(struct bp_ctx *ctx,
                                const struct bp_request *req,
                                const struct bp_route_match *match,
                                struct bp_response *res, struct bp_error *err);

/* GET /image_groups/{id}. */
enum bp_rc bp_handle_group_get(struct bp_ctx *ctx, const struct bp_request *req,
                               const struct bp_route_match *match,
                               struct bp_response *res, struct bp_error *err);

/* POST /image_groups: create from JSON (wrapped or bare). */
enum bp_rc bp_handle_group_create(struct bp_ctx *ctx,
                                  const struct bp_request *req,
                                  const struct bp_route_match *match,
                                  struct bp_response *res,
                                  struct bp_error *err);

/* PATCH /image_groups/{id}: change name, description or event. */
enum bp_rc bp_handle_group_update(struct bp_ctx *ctx,
                                  const struct bp_request *req,
                                  const struct bp_route_match *match,
                                  struct bp_response *res,
                                  struct bp_error *err);

/* DELETE /image_groups/{id}. */
enum bp_rc bp_handle_group_delete(struct bp_ctx *ctx,
                                  const struct bp_request *req,
                                  const struct bp_route_match *match,
                                  struct bp_response *res,
                                  struct bp_error *err);

/*
 * PATCH /events/{event_id}/image_groups: the earlier web client's call
 * when an event is deleted; sets event to null on its groups (an admin's
 * call: all of them; a contributor's: those it owns) and answers
 * {"acknowledged": true, "modified_count": N}.
 */
enum bp_rc bp_handle_event_groups_detach(struct bp_ctx *ctx,
                                         const struct bp_request *req,
                                         const struct bp_route_match *match,
                                         struct bp_response *res,
                                         struct bp_error *err);

/*
 * GET /original/{group_id}/{filename}, /fullsize/..., /thumb/...: the
 * files of the image of that name in that group, at the earlier
 * version's storage paths (its web client shows pictures from there).
 */
enum bp_rc bp_handle_named_original(struct bp_ctx *ctx,
                                    const struct bp_request *req,
                                    const struct bp_route_match *match,
                                    struct bp_response *res,
                                    struct bp_error *err);
enum bp_rc bp_handle_named_fullsize(struct bp_ctx *ctx,
                                    const struct bp_request *req,
                                    const struct bp_route_match *match,
                                    struct bp_response *res,
                                    struct bp_error *err);
enum bp_rc bp_handle_named_thumb(struct bp_ctx *ctx,
                                 const struct bp_request *req,
                                 const struct bp_route_match *match,
                                 struct bp_response *res, struct bp_error *err);

/* GET /images: images filtered by group, capture time and place. */
enum bp_rc bp_handle_image_list(struct bp_ctx *ctx,
                                const struct bp_request *req,
                                const struct bp_route_match *match,
                                struct bp_response *res, struct bp_error *err);

/* GET /images/{id}. */
enum bp_rc bp_handle_image_get(struct bp_ctx *ctx, const struct bp_request *req,
                               const struct bp_route_match *match,
                               struct bp_response *res, struct bp_error *err);

/* POST /images: one image (multipart "image" or a raw body). */
enum bp_rc bp_handle_image_create(struct bp_ctx *ctx,
                                  const struct bp_request *req,
                                  const struct bp_route_match *match,
                                  struct bp_response *res,
                                  struct bp_error *err);

/* POST /images/{group_id}: multipart "images" into a group. */
enum bp_rc bp_handle_images_add(struct bp_ctx *ctx,
                                const struct bp_request *req,
                                const struct bp_route_match *match,
                                struct bp_response *res, struct bp_error *err);

/* PATCH /images/{id}: description and group. */
enum bp_rc bp_handle_image_update(struct bp_ctx *ctx,
                                  const struct bp_request *req,
                                  const struct bp_route_match *match,
                                  struct bp_response *res,
                                  struct bp_error *err);

/* PATCH /images/{id}/file: a new file for the image. */
enum bp_rc bp_handle_image_replace_file(struct bp_ctx *ctx,
                                        const struct bp_request *req,
                                        const struct bp_route_match *match,
                                        struct bp_response *res,
                                        struct bp_error *err);

/* DELETE /images/{id}, with its files. */
enum bp_rc bp_handle_image_delete(struct bp_ctx *ctx,
                                  const struct bp_request *req,
                                  const struct bp_route_match *match,
                                  struct bp_response *res,
                                  struct bp_error *err);

/* GET /images/{id}/file: the original bytes. */
enum bp_rc bp_handle_image_file(struct bp_ctx *ctx,
                                const struct bp_request *req,
                                const struct bp_route_match *match,
                                struct bp_response *res, struct bp_error *err);

/* GET /images/{id}/fullsize: the large gallery size. */
enum bp_rc bp_handle_image_fullsize(struct bp_ctx *ctx,
                                    const struct bp_request *req,
                                    const struct bp_route_match *match,
                                    struct bp_response *res,
                                    struct bp_error *err);

/* GET /images/{id}/thumb: the thumbnail. */
enum bp_rc bp_handle_image_thumb(struct bp_ctx *ctx,
                                 const struct bp_request *req,
                                 const struct bp_route_match *match,
                                 struct bp_response *res, struct bp_error *err);

/*
 * POST /images/{id}/complete: processes the file uploaded to the
 * image's upload URL and makes the image ready (409 while it has not
 * arrived; an image that awaits nothing is answered as it is).
 */
enum bp_rc bp_handle_image_complete(struct bp_ctx *ctx,
                                    const struct bp_request *req,
                                    const struct bp_route_match *match,
                                    struct bp_response *res,
                                    struct bp_error *err);

/*
 * PUT /uploads/{token}: receives the file of an awaited image at the
 * signed local upload URL (403 for a bad or expired token or another
 * Content-Type than signed, 409 when no upload is awaited).
 */
enum bp_rc bp_handle_upload_put(struct bp_ctx *ctx,
                                const struct bp_request *req,
                                const struct bp_route_match *match,
                                struct bp_response *res, struct bp_error *err);

#endif
