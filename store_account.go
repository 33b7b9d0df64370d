package parcelguard

// AccountTx is the part of Tx for people who sign in to the web apps: operators, couriers and their sessions.
type AccountTx interface{}
