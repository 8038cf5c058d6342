/*
 * pin.h
 *		One version per statement on a Citus cluster (pin.c).
 */
#ifndef REFRAME_PIN_H
#define REFRAME_PIN_H

/* Installs the planner hook that pins the models a statement scores. */
extern void ReframePinInit(void);

#endif
