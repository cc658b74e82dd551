/*
 * floor_responder.c: the floor of the FastCGI architecture for the
 * request-path benchmark (bench/groups.py): the simplest libfcgi
 * responder there is, one FCGX_Accept_r loop answering every request with
 * a fixed JSON body, on the listening socket it is given as fd 0
 * (spawn-fcgi). Not part of the program.
 */
#include <fcgiapp.h>

int main(void)
{
    FCGX_Request request;
    FCGX_Init();
    FCGX_InitRequest(&request, 0, 0);
    while (FCGX_Accept_r(&request) >= 0) {
        FCGX_PutS("Status: 200 OK\r\nContent-Type: application/json\r\n"
                  "Content-Length: 39\r\n\r\n"
                  "{\"name\":\"bandpics\",\"version\":\"floor\"}\n\n",
                  request.out);
        FCGX_Finish_r(&request);
    }
    return 0;
}
