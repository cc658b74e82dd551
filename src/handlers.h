/*
 * handlers.h: the request handlers, one per route. Each fills the
 * response or returns an error code with a detail for the client.
 */
#ifndef BP_HANDLERS_H
#define BP_HANDLERS_H

#include "app.h"
#include "router.h"

/* GET /: the service's name and version. */
enum bp_rc bp_handle_service_info(struct bp_ctx *ctx,
                                  const struct bp_request *req,
                                  const struct bp_route_match *match,
                                  struct bp_response *res,
                                  struct bp_error *err);

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

#endif
