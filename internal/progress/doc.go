// Package progress draws a long command's counter line on stderr: redrawn
// in place when a person watches a terminal, a plain line now and then
// when the output goes to a log. It owns only the drawing and the byte
// formatting; what the counters are is the caller's.
//
// It imports nothing of Wharf's.
package progress
