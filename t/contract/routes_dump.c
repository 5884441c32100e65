/*
 * routes_dump: prints support-api's route table (src/api/routes.c), one
 * route a line: "METHOD PATTERN ROLE", ROLE one of none, customer,
 * support_agent, support_admin, any (an authenticated caller). The
 * OpenAPI route test (t/contract/test_openapi) compares it with
 * docs/openapi.yaml, so the table itself is the source, not a parse of
 * the C text. Must not: print anything else on stdout.
 */
#include <stdio.h>
#include <stdlib.h>

#include "api/app.h"
#include "http/router.h"

static const char *
role_name(enum sp_role role)
{
    switch (role) {
    case SP_ROLE_NONE: return "none";
    case SP_ROLE_CUSTOMER: return "customer";
    case SP_ROLE_AGENT: return "support_agent";
    case SP_ROLE_ADMIN: return "support_admin";
    default: return "any";
    }
}

int
main(void)
{
    for (size_t i = 0; i < sp_api_nroutes; i++)
        printf("%s %s %s\n", sp_method_name(sp_api_routes[i].method), sp_api_routes[i].pattern,
               role_name(sp_api_routes[i].role));
    return fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
