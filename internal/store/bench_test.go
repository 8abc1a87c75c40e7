package store_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/learnerrecords/clr-operator/internal/store"
	"github.com/learnerrecords/clr-operator/internal/store/storetest"
)

// credentialBody is about the size of a signed AchievementCredential.
var credentialBody = []byte(`{"@context":["https://www.w3.org/ns/credentials/v2"],"type":["VerifiableCredential","AchievementCredential"],"data":"` +
	strings.Repeat("x", 2000) + `"}`)

func benchCreds(n, learners, offset int) []*store.Credential {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	out := make([]*store.Credential, n)
	for i := range out {
		at := t0.Add(time.Duration(offset+i) * time.Microsecond)
		out[i] = &store.Credential{ID: fmt.Sprintf("urn:uuid:%09d", offset+i), LearnerID: fmt.Sprintf("learner-%05d", (offset+i)%learners),
			Issuer: "did:web:u.example", Type: "AchievementCredential", Format: store.FormatJSON, Data: credentialBody,
			Source: store.SourceIssued, CreatedAt: at, UpdatedAt: at}
	}
	return out
}

func openBench(b *testing.B, h storetest.Harness) store.Store {
	b.Helper()
	s, err := h.Open(context.Background(), h.NewLocation(b))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

// batch is the bulk-issuance transaction size.
const batch = 1000

// benchBulk inserts credentials in transactions of `batch` (the bulk
// issuance path: 100,000 credentials for 10,000 learners), either with the
// multi-row InsertCredentials or, as the baseline, one PutCredential per
// credential inside the same transaction.
func benchBulk(b *testing.B, h storetest.Harness, multiRow bool) {
	s := openBench(b, h)
	ctx := context.Background()
	b.SetBytes(int64(len(credentialBody)) * batch)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		cs := benchCreds(batch, 10000, i*batch)
		err := s.InTx(ctx, func(tx store.Store) error {
			if multiRow {
				return tx.InsertCredentials(ctx, cs)
			}
			for _, c := range cs {
				if _, err := tx.PutCredential(ctx, c); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "credentials/s")
}

// benchList pages through learners' credentials concurrently, as GET
// credentials does: 10,000 learners × 10 credentials, limit 5 offset 5.
func benchList(b *testing.B, h storetest.Harness) {
	s := openBench(b, h)
	ctx := context.Background()
	const learners, per = 10000, 10
	for i := 0; i < learners*per; i += 5000 {
		if err := s.InsertCredentials(ctx, benchCreds(5000, learners, i)); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	b.SetParallelism(8)
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			i++
			page, total, err := s.ListCredentials(ctx, store.CredentialQuery{
				LearnerID: fmt.Sprintf("learner-%05d", (i*7919)%learners), Limit: 5, Offset: 5})
			if err != nil {
				b.Error(err)
				return
			}
			if len(page) != 5 || total != per {
				b.Errorf("page of %d, total %d", len(page), total)
				return
			}
		}
	})
}

func BenchmarkSQLiteBulkInsertMultiRow(b *testing.B)   { benchBulk(b, sqliteHarness(), true) }
func BenchmarkSQLiteBulkInsertPerRow(b *testing.B)     { benchBulk(b, sqliteHarness(), false) }
func BenchmarkSQLiteListCredentials(b *testing.B)      { benchList(b, sqliteHarness()) }
func BenchmarkPostgresBulkInsertMultiRow(b *testing.B) { benchBulk(b, postgresHarness(), true) }
func BenchmarkPostgresBulkInsertPerRow(b *testing.B)   { benchBulk(b, postgresHarness(), false) }
func BenchmarkPostgresListCredentials(b *testing.B)    { benchList(b, postgresHarness()) }
