// Package lockhw drives locker lock hardware: the boards that pulse a
// compartment's lock and report its lock and door sensors.
//
// Everything above this package talks to a Driver. Two implement it: Sim, a
// deterministic simulator for tests, demos and the network simulator, and
// RS485, a driver for the common 9600 8N1 hex lock-board protocol spoken by
// cheap locker control boards (the exact bytes are documented on STX).
// EmulatedBoard answers that protocol from a Sim so the RS485 driver can be
// tested end to end, down to a real pseudo-terminal.
//
// Locks are numbered from 1 across the whole locker, in the order the
// compartments are wired; drivers map a lock number to a board and channel.
//
// The package reports what the hardware says and nothing more: deciding
// whether an open door is authorised, forced or left open is the door
// package's job.
package lockhw
