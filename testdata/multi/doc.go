// Package multi is a library package at the module root; the commands live
// under cmd/.
package multi
