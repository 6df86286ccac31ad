// The account id every local service puts in its ARNs and events.

/** The local cloud's account id: LocalStack's placeholder, never a real account. */
export const LOCAL_ACCOUNT_ID = '000000000000';
