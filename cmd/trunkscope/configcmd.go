package main

import (
	"fmt"

	"github.com/trunkscope/trunkscope/collector"
	"github.com/trunkscope/trunkscope/config"
)

func cmdConfig(e *env, args []string) error {
	if len(args) == 1 && args[0] == "defaults" {
		_, err := e.stdout.Write(config.DefaultYAML())
		return err
	}
	if len(args) == 2 && args[0] == "check" {
		cfg, err := config.Load(args[1])
		if err != nil {
			return err
		}
		if _, err := collector.LoadPricing(cfg); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "%s: ok (%d trunks, %d decks)\n", args[1], len(cfg.Trunks), len(cfg.Decks))
		return nil
	}
	if len(args) == 1 && (args[0] == "--help" || args[0] == "-h") {
		fmt.Fprint(e.stdout, `Usage: trunkscope config defaults | check FILE

  defaults    print the built-in configuration (a starting point for your own)
  check FILE  validate FILE and load its rate decks
`)
		return nil
	}
	return usagef("usage: trunkscope config defaults | check FILE")
}
