package parcelguard

// OutageTx is the part of Tx for locker outages: heartbeats, sites or
// compartments out of service, and the deadline extensions they cause.
type OutageTx interface{}
