/*
 *
 * Automatically generated file; DO NOT EDIT.
 * Line-based oldconfig
 *
 */
#define CONFIG_IN_MENU_CHILD 2
#define CONFIG_NEW_STRING "3"
#define CONFIG_CH_B 1
#define CONFIG_MODULES 1
#define CONFIG_NEW_TRI_MODULE 1
#define CONFIG_OLD_CH_Y 1
#define CONFIG_NEW_BOOL 1
#define CONFIG_IN_MENU 1
#define CONFIG_OLD_BOOL 1
#define CONFIG_NEW_INT 10
#define CONFIG_NEW_HEX 0x7
