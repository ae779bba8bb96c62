#include <stdio.h>
int main(void) { puts("ulak"); return 0; }
