/*
 * lambda.h: the AWS Lambda custom runtime. When AWS_LAMBDA_RUNTIME_API
 * is set (or with --lambda) the program asks the Runtime API for each
 * invocation, serves it with the same handlers as FastCGI and CGI, and
 * posts the answer back.
 */
#ifndef BP_LAMBDA_H
#define BP_LAMBDA_H

#include "config.h"

/*
 * Runs the Runtime API loop at runtime_api ("host:port") with cfg until
 * the Runtime API goes away. Start-up work happens once, before the
 * loop; a start-up failure is posted to .../init/error. Returns the
 * process exit status.
 */
int bp_lambda_run(const struct bp_config *cfg, const char *runtime_api);

/*
 * Posts message to the init/error of the Runtime API at runtime_api: a
 * start-up failure before bp_lambda_run (an invalid configuration).
 * Needs libcurl's global state set up.
 */
void bp_lambda_report_init_error(const char *runtime_api, const char *message);

#endif
