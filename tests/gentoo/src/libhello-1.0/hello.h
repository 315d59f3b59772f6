#ifndef HELLO_H
#define HELLO_H
/* Returns a greeting naming the library's version. */
const char *hello_greeting(void);
#endif
