/*
 *
 * Automatically generated file; DO NOT EDIT.
 * Firmware  for 
 *
 */
#define CONFIG_HAS_FEATURE 1
#define CONFIG_SHELL_LINES "one two"
#define CONFIG_UNSET_ENV "[]"
#define CONFIG_GREETING "Hello, world and riscv!"
#define CONFIG_DEFAULT_riscv 1
#define CONFIG_MACRO_NAMED 1
#define CONFIG_DEFERRED "early-bound? +tail"
#define CONFIG_CC_NAME "gcc-riscv"
#define CONFIG_SUB_WHERE "sub/extra.kconfig:3"
#define CONFIG_PROMPT_MACRO 1
#define CONFIG_SWAPPED "rightleft"
#define CONFIG_CFLAGS "-O2 -g"
#define CONFIG_FROM_ENV "devkit"
#define CONFIG_WHERE "Kconfig:56"
#define CONFIG_GUARDED 1
