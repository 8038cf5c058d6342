/*
 * encoder_int.h
 *		What the encoder's files share: planning and reading the columns
 *		(encoder_read.c), fitting (encoder_fit.c), storing (encoder_json.c) and
 *		encoding (encoder.c).
 */
#ifndef REFRAME_ENCODER_INT_H
#define REFRAME_ENCODER_INT_H

#include "encoder.h"

/* encoder.c */
extern const char *EncoderKindName(RfColKind kind);
extern int EncoderCategoryBucket(const RfEncColumn *col, const char *value);
extern void EncoderBuildByName(RfEncColumn *col);
extern void EncoderLayout(RfEncoder *enc, const bool *has_missing);

#endif
