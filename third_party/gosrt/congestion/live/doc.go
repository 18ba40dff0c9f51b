// Package live provides implementations of the Sender and Receiver interfaces for live congestion control
package live
