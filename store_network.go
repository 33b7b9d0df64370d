package parcelguard

// NetworkTx is the part of Tx for the network administration and API extras: site updates, carrier and key listings, delegate codes, redirects.
type NetworkTx interface{}
