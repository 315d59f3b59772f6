#include <stdio.h>
#include <hello.h>

#ifndef HELLO_PC
#error "hello.pc's Cflags did not reach the compiler"
#endif

int main(void)
{
	printf("%s\n", hello_greeting());
	return 0;
}
