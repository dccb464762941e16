// SPDX-License-Identifier: GPL-2.0
/*
 * A deliberately BROKEN module for the lab's own tests (vmlab validate): the reference,
 * except that reading an empty device dereferences a NULL pointer (an oops; the reader is
 * killed). It builds, loads, unloads and leaks nothing, and must earn partial credit
 * with the oops shown in the feedback.
 */
#include <linux/module.h>
#include <linux/miscdevice.h>
#include <linux/fs.h>
#include <linux/slab.h>
#include <linux/mutex.h>
#include <linux/uaccess.h>

static int key;
module_param(key, int, 0444);
MODULE_PARM_DESC(key, "XOR key of every byte read back (1-255)");

static int bufsize = 256;
module_param(bufsize, int, 0444);
MODULE_PARM_DESC(bufsize, "bytes the device holds");

struct vmlab_ctx {
	unsigned long bytes_read;
	unsigned long bytes_written;
};

static struct kmem_cache *ctx_cache;
static DEFINE_MUTEX(fifo_lock);
static char *fifo;
static size_t fifo_head, fifo_count;

static int vmlab_open(struct inode *inode, struct file *file)
{
	struct vmlab_ctx *ctx = kmem_cache_zalloc(ctx_cache, GFP_KERNEL);

	if (!ctx)
		return -ENOMEM;
	file->private_data = ctx;
	return 0;
}

static int vmlab_release(struct inode *inode, struct file *file)
{
	kmem_cache_free(ctx_cache, file->private_data);
	return 0;
}

static ssize_t vmlab_read(struct file *file, char __user *out, size_t len, loff_t *pos)
{
	struct vmlab_ctx *ctx = file->private_data;
	char chunk[128];
	size_t done = 0;

	if (READ_ONCE(fifo_count) == 0) {
		/* The bug: "nothing to read" is looked up in a context never made. */
		struct vmlab_ctx *empty = NULL;

		return empty->bytes_read;
	}
	if (mutex_lock_interruptible(&fifo_lock))
		return -ERESTARTSYS;
	while (done < len && fifo_count > 0) {
		size_t n = min3(len - done, fifo_count, sizeof(chunk));
		size_t i;

		for (i = 0; i < n; i++)
			chunk[i] = fifo[(fifo_head + i) % bufsize] ^ (char)key;
		if (copy_to_user(out + done, chunk, n)) {
			mutex_unlock(&fifo_lock);
			return done ? done : -EFAULT;
		}
		fifo_head = (fifo_head + n) % bufsize;
		fifo_count -= n;
		done += n;
	}
	mutex_unlock(&fifo_lock);
	ctx->bytes_read += done;
	return done;
}

static ssize_t vmlab_write(struct file *file, const char __user *in, size_t len, loff_t *pos)
{
	struct vmlab_ctx *ctx = file->private_data;
	char chunk[128];
	size_t done = 0;

	if (mutex_lock_interruptible(&fifo_lock))
		return -ERESTARTSYS;
	if (len > 0 && fifo_count == bufsize) {
		mutex_unlock(&fifo_lock);
		return -ENOSPC;
	}
	while (done < len && fifo_count < bufsize) {
		size_t n = min3(len - done, (size_t)bufsize - fifo_count, sizeof(chunk));
		size_t i;

		if (copy_from_user(chunk, in + done, n)) {
			mutex_unlock(&fifo_lock);
			return done ? done : -EFAULT;
		}
		for (i = 0; i < n; i++)
			fifo[(fifo_head + fifo_count + i) % bufsize] = chunk[i];
		fifo_count += n;
		done += n;
	}
	mutex_unlock(&fifo_lock);
	ctx->bytes_written += done;
	return done;
}

static const struct file_operations vmlab_fops = {
	.owner = THIS_MODULE,
	.open = vmlab_open,
	.release = vmlab_release,
	.read = vmlab_read,
	.write = vmlab_write,
	.llseek = noop_llseek,
};

static struct miscdevice vmlab_dev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "vmlab",
	.fops = &vmlab_fops,
	.mode = 0666,
};

static int __init vmlab_init(void)
{
	int err;

	if (key < 1 || key > 255 || bufsize < 16 || bufsize > 65536)
		return -EINVAL;
	ctx_cache = kmem_cache_create("vmlab_ctx", sizeof(struct vmlab_ctx), 0, 0, NULL);
	if (!ctx_cache)
		return -ENOMEM;
	fifo = kmalloc(bufsize, GFP_KERNEL);
	if (!fifo) {
		err = -ENOMEM;
		goto no_fifo;
	}
	err = misc_register(&vmlab_dev);
	if (err)
		goto no_device;
	return 0;
no_device:
	kfree(fifo);
no_fifo:
	kmem_cache_destroy(ctx_cache);
	return err;
}

static void __exit vmlab_exit(void)
{
	misc_deregister(&vmlab_dev);
	kfree(fifo);
	kmem_cache_destroy(ctx_cache);
}

module_init(vmlab_init);
module_exit(vmlab_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("vmlab kernel-module lab: broken on purpose");
