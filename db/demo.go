package db

import (
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

var (
	//go:embed sql/demo_seed.sql
	demoSeedSQL string
	//go:embed sql/demo_create_database.sql
	demoCreateDatabaseSQL string
	//go:embed sql/demo_seed_recurring.sql
	demoSeedRecurringSQL string
	//go:embed sql/demo_drop_database.sql
	demoDropDatabaseSQL string
)

// DemoDatabasePrefix starts the name of every database `broadcaster demo`
// creates, so that an operator can tell them apart (and drop one left by a
// killed demo).
const DemoDatabasePrefix = "broadcaster_demo_"

// ErrCreateDatabaseDenied says the role may not create a database (it lacks
// CREATEDB): the demo then refuses to run rather than use the database it
// connected to.
var ErrCreateDatabaseDenied = errors.New("may not create databases (it lacks CREATEDB)")

// DemoDatabase is a database that `broadcaster demo` made for itself on the
// server of DATABASE_URL, so that the demo's runs, sends and suppressions
// never reach the database that URL names. Drop it when done.
type DemoDatabase struct {
	// Name is the new database's name, DemoDatabasePrefix and random hex.
	Name string
	// URL is the connection string of the new database: the one it was
	// created from, with the database name replaced.
	URL string

	server string // the connection string it was created from
}

// CreateDemoDatabase creates an empty database with a random name on the
// server that connString points to, connecting as its role to its database
// (which is only read from: CREATE DATABASE changes the server's catalog).
// A role without CREATEDB gets ErrCreateDatabaseDenied.
func CreateDemoDatabase(ctx context.Context, connString string) (*DemoDatabase, error) {
	cfg, err := pgx.ParseConfig(connString)
	if err != nil {
		return nil, fmt.Errorf("parse database url: %w", err)
	}
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, fmt.Errorf("random database name: %w", err)
	}
	name := DemoDatabasePrefix + hex.EncodeToString(b[:])
	dbURL, err := withDatabase(connString, name)
	if err != nil {
		return nil, err
	}
	d := &DemoDatabase{Name: name, URL: dbURL, server: connString}
	err = d.exec(ctx, demoCreateDatabaseSQL)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == pgerrcode.InsufficientPrivilege {
		return nil, fmt.Errorf("role %q %w", cfg.User, ErrCreateDatabaseDenied)
	}
	if err != nil {
		return nil, fmt.Errorf("create database %s: %w", name, err)
	}
	return d, nil
}

// Drop removes the database, ending any connection still open to it. It is
// safe to call again.
func (d *DemoDatabase) Drop(ctx context.Context) error {
	if err := d.exec(ctx, demoDropDatabaseSQL); err != nil {
		return fmt.Errorf("drop database %s: %w", d.Name, err)
	}
	return nil
}

// exec runs one of the demo's database statements on a connection of its
// own to the server's database: CREATE and DROP DATABASE run outside any
// transaction, and a pool would keep connections the demo does not need.
func (d *DemoDatabase) exec(ctx context.Context, sql string) error {
	conn, err := pgx.Connect(ctx, d.server)
	if err != nil {
		return fmt.Errorf("connect to database: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	_, err = conn.Exec(ctx, strings.ReplaceAll(sql, "{{database}}", pgx.Identifier{d.Name}.Sanitize()))
	return err
}

// withDatabase returns connString pointing at database name instead, in
// either form pgx accepts: a postgres:// URL or keyword/value pairs.
func withDatabase(connString, name string) (string, error) {
	if strings.HasPrefix(connString, "postgres://") || strings.HasPrefix(connString, "postgresql://") {
		u, err := url.Parse(connString)
		if err != nil {
			return "", fmt.Errorf("parse database url: %w", err)
		}
		u.Path, u.RawPath = "/"+name, ""
		if q := u.Query(); q.Has("dbname") {
			q.Del("dbname")
			u.RawQuery = q.Encode()
		}
		return u.String(), nil
	}
	// Keyword/value form: of a keyword given twice, the last counts.
	return strings.TrimSpace(connString) + " dbname='" + name + "'", nil
}

// DemoSeed is what `broadcaster demo` inserts: the rows an operator would.
type DemoSeed struct {
	TemplateName, ImgURL, Content string
	ListName                      string
	Members, Suppressed, Inline   []string
	WID, CampaignName             string
}

// SeedDemo inserts a demo's template, list, suppressions and campaign in one
// statement and returns the campaign's id.
func (s *Store) SeedDemo(ctx context.Context, d DemoSeed) (int64, error) {
	var id int64
	err := s.pool.QueryRow(ctx, demoSeedSQL, pgx.NamedArgs{
		"template_name": d.TemplateName, "img_url": d.ImgURL, "content": d.Content, "list_name": d.ListName,
		"members": d.Members, "suppressed": d.Suppressed, "recipients": d.Inline, "w_id": d.WID,
		"campaign_name": d.CampaignName,
	}).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("seed demo: %w", err)
	}
	return id, nil
}

// SeedDemoRecurring inserts a copy of demo campaign campaignID that fires
// on schedule, for `demo --console`, and returns its id.
func (s *Store) SeedDemoRecurring(ctx context.Context, campaignID int64, name, schedule string) (int64, error) {
	var id int64
	err := s.pool.QueryRow(ctx, demoSeedRecurringSQL, pgx.NamedArgs{"campaign": campaignID, "name": name, "schedule": schedule}).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("seed recurring demo campaign: %w", err)
	}
	return id, nil
}

// ReportRunsSQL is the query behind ReportRuns, for showing operators the
// SQL that produced a report.
func ReportRunsSQL() string { return reportRunsSQL }
