/* The `bpgate make` sub-commands (cmd_make.c dispatches). argv[0] is the sub-command's name. */
#ifndef BPG_HOOKS_MAKE_CMDS_H
#define BPG_HOOKS_MAKE_CMDS_H

#include "cli.h"

int make_deploy(int argc, char **argv);
int make_drift(int argc, char **argv);
int make_switch(int argc, char **argv); /* disable | enable */
int make_health(int argc, char **argv); /* make_health.c */

#endif
