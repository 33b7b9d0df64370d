package parcelguard

// DeviceTx is the part of Tx for the device channel: applied locker events, camera bookmarks, locker reachability.
type DeviceTx interface{}
