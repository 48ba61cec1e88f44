package main

import "context"

func runDemo(ctx context.Context, a *app, args []string) error { return nil }
