package main

import "os/exec"

func renderHTML(rep Report) string                     { return "" }
func latencyChart(results []Result, standalone bool) string { return "" }
func execOutput(name string, args ...string) (string, error) {
	out, err := exec.Command(name, args...).CombinedOutput()
	return string(out), err
}
