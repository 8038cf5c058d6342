/*
 * options.h
 *		The options jsonb of reframe.train(): parsed, type-checked, and
 *		rejected when a key is unknown.
 */
#ifndef REFRAME_OPTIONS_H
#define REFRAME_OPTIONS_H

#include "nodes/pg_list.h"
#include "utils/jsonb.h"

typedef enum RfDeploy
{
	RF_DEPLOY_ALWAYS,
	RF_DEPLOY_IF_BETTER,
	RF_DEPLOY_NEVER
} RfDeploy;

typedef struct RfOptions
{
	char	   *model;			/* the family's name, NULL: implied (see FamilyFromOptions) */
	List	   *features;		/* column names, NIL: all */
	List	   *exclude;
	char	   *loss;			/* NULL: the task's default */
	double		huber_delta;
	double		l2;
	bool		l2_auto;		/* "l2": "auto": chosen by cross-validation (linear) */
	int			max_iter;
	double		tol;
	double		validation;		/* < 0: default */
	int64		seed;
	char	   *deploy_name;
	RfDeploy	deploy;
	bool		verbose;
	int			max_categories;
	bool		balanced;		/* class_weight "balanced" */
	JsonbContainer *class_weight;	/* class_weight as {"class": weight} */
	double		threshold;		/* binary decision threshold; NaN: 0.5 */
	bool		threshold_f1;	/* tune the threshold for F1 */
	int			nbins;			/* bins: explicit edges, or quantiles */
	double	   *bin_edges;
	int			bin_quantiles;
	char	   *group;			/* query column for ranking metrics */
	JsonbContainer *task_weights;	/* {"target": weight} for several heads */
	JsonbContainer *tasks;		/* {"target": "regression" | "binary" | "multiclass"} */
	int			nhidden;		/* hidden layers of the trunk, and their sizes */
	int		   *hidden;
	int			batch_size;		/* Adam, for hidden trunks */
	int			epochs;
	double		learning_rate;
	int			patience;
	char	   *sharing;
	bool		soft_sharing;	/* one trunk per task, kept close by a penalty */
	double		sharing_strength;
	/* trees */
	int			rounds;			/* upper bound on boosting rounds */
	int			max_depth;
	double		min_child_weight;
	double		subsample;
	double		colsample;
	int			max_bins;
	char	   *objective;		/* "pointwise", or "ndcg": LambdaMART over "group" */
	char	   *weight;			/* "weight": the column of row weights, or NULL */
	List	   *classes;		/* "classes": names of a float array target's elements, or NIL */
	JsonbContainer *search;		/* "search": the options to try (search.c), or NULL */
	int			trials;			/* "search" or "model": "auto": at most this many (0: default) */
	double		time_budget;	/* seconds; 0: none */
	bool		warm_start;		/* continue the deployed version (warm_start.c) */
	bool		streaming;		/* read by aggregate passes (moments.c); see OptionGiven */
	double		sample;			/* train on a seeded uniform sample: a fraction (<= 1) or a row count; 0: all */
	char	   *split_by;		/* the column whose value decides the validation split */
	char	   *split;			/* "random" (by a hash) or "time" (the latest split_by values) */
	int64		split_seed;		/* seed of the split (default: "seed") */
	uint64		given;			/* one bit per option in the table, when given */
	Jsonb	   *raw;			/* as given, stored with the version */
} RfOptions;

extern RfOptions *OptionsParse(Jsonb *options);
/* Whether the options name key (a known option). */
extern bool OptionGiven(const RfOptions *o, const char *key);
/* Raises an error naming the first given option that the family does not take. */
extern bool OptionIsInteger(const char *key);
extern void OptionsGivenToo(RfOptions *o, JsonbContainer *obj);
extern int	OptionsGivenKeys(const RfOptions *o, const char **keys);

#endif
