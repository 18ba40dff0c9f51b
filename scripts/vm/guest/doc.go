// Package guest holds the tests that run inside the QEMU guest (see
// scripts/vm/run.sh); on a normal machine they skip.
package guest
