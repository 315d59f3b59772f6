/*
 *
 * Automatically generated file; DO NOT EDIT.
 * Random configurations
 *
 */
#define CONFIG_E_MODULE 1
#define CONFIG_A 1
#define CONFIG_NUM 15
#define CONFIG_MODULES 1
#define CONFIG_D 1
#define CONFIG_STR "s"
#define CONFIG_CH1 1
#define CONFIG_TC1_MODULE 1
#define CONFIG_C 1
