package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

func main() {
	if err := newRootCommand().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "herald:", err)
		os.Exit(exitCode(err))
	}
}

func newRootCommand() *cobra.Command {
	start := &cobra.Command{
		Use:   "start",
		Short: "Run herald (the default command)",
		Args:  cobra.NoArgs,
		RunE:  runStart,
	}
	defineFlags(start.Flags())

	root := &cobra.Command{
		Use:           "herald",
		Short:         "herald: an etcd v3 proxy that offloads leases and fans out watches",
		Args:          cobra.NoArgs,
		RunE:          runStart,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	defineFlags(root.Flags())
	setVersionFlag(root)
	root.AddCommand(start, newStatusCommand(), newVersionCommand())
	root.SetUsageFunc(groupedUsage)
	start.SetUsageFunc(groupedUsage)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &usageError{err} })
	return root
}

func runStart(cmd *cobra.Command, _ []string) error {
	cfg, err := loadConfig(cmd)
	if err != nil {
		return err
	}
	if check, _ := cmd.Flags().GetBool("check-config"); check {
		fmt.Fprintln(cmd.OutOrStdout(), "herald: configuration is valid")
		return nil
	}
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	return Run(ctx, *cfg)
}
