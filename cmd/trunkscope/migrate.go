package main

import (
	"context"
	"fmt"

	"github.com/trunkscope/trunkscope/schema"
)

func cmdMigrate(e *env, args []string) error {
	fs := flagSet(e, "migrate", "[flags]", `Creates or upgrades trunkscope's ClickHouse schema in the configured store
(embedded chDB in --data, or the ClickHouse server of the configuration).
Idempotent: running it again applies nothing. Every command that opens the
store migrates it first, so this is for servers prepared ahead of time.`)
	var c common
	c.register(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	ctx := context.Background()
	s, err := c.open(ctx, e, false)
	if err != nil {
		return err
	}
	defer s.Close()
	// openStack has migrated; list what the store now has.
	applied, err := schema.Applied(ctx, s.st, s.db())
	if err != nil {
		return err
	}
	ms, _ := schema.Migrations()
	for _, m := range ms {
		fmt.Fprintf(e.stdout, "%04d %s applied\n", m.Version, applied[m.Version])
	}
	fmt.Fprintf(e.stdout, "schema of %s on %s %s is up to date\n", s.db(), s.st.Info().Engine, s.st.Info().Version)
	return nil
}
