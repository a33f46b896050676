package io.presage.apply;

import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.Id;
import jakarta.persistence.Table;

/** The {@code items} table as Hibernate sees it (single-key reads); writes are batched upserts. */
@Entity
@Table(name = "items")
public class ItemRow {
    @Id
    @Column(name = "item_key")
    public String key;

    @Column(name = "item_value")
    public String value;

    @Column(name = "version", nullable = false)
    public long version;

    @Column(name = "vclock", nullable = false)
    public String vclock;

    @Column(name = "seq", nullable = false)
    public long seq;
}
