/*-------------------------------------------------------------------------
 *
 * promotion_token.h
 *	  The check of spec.replica.promotionToken (base64 of pg_controldata
 *	  JSON), as CloudNativePG's webhook does it.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CB_PROMOTION_TOKEN_H
#define CB_PROMOTION_TOKEN_H

/*
 * NULL if the token is well formed, else CloudNativePG's message:
 * "Invalid promotionToken format: ..." or "Invalid promotionToken content: ..."
 */
extern char *cb_promotion_token_problem(const char *token);

#endif							/* CB_PROMOTION_TOKEN_H */
