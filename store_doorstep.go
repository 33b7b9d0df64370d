package parcelguard

// DoorstepTx is the part of Tx for doorstep deliveries: delivery passwords, attempts and proofs.
type DoorstepTx interface{}
